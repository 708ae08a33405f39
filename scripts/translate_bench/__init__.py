"""The parts of ``scripts/bench_translate.py`` (issue #14), one idea a module:

- :mod:`translate_bench.speech`: the espeak-ng utterances and what a recogniser hears in each
  stretch of their audio;
- :mod:`translate_bench.simulate`: time as data: the listen worker and the model worker, each
  doing one thing at a time, feeding the real translate mode in time order;
- :mod:`translate_bench.metrics`: lag and erasure of what translate mode drew;
- :mod:`translate_bench.contention`: ASR decodes against the model's generation on real
  threads and the real clock;
- :mod:`translate_bench.report`: the docs/benchmarks.md section;
- :mod:`translate_bench.realtime`: one utterance in real time through the real daemon onto a
  ``glasses-sim`` process, the screens timed as the simulator acknowledged them;
- :mod:`translate_bench.crosscheck`: ``--realtime``: those lags beside the time-as-data ones
  of the same utterances, and their own docs/benchmarks.md section.

They import ``glasses`` and ``tests/translate_support``: ``bench_translate.py`` puts the
checkout on ``sys.path`` first.
"""
