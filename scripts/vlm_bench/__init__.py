"""The parts of ``scripts/bench_vlm.py`` (issue #15): :mod:`vlm_bench.build` (the 2B-sized
model, exported and quantised), :mod:`vlm_bench.workers` (what each engine's child process
measures) and :mod:`vlm_bench.report` (goals, the Pi 5 estimate, the markdown tables)."""
