"""A bounded fuzzing run of each C target (mcu/fuzz/) over the repository's corpus: ASan and
UBSan stop at the first fault, and each target also checks its own invariants (buffer unchanged
on error, COPY against a reference, PackBits against a reference decoder, frames consistent).

With clang's libFuzzer runtime (Debian: libclang-rt-dev) the targets are coverage-guided;
without it they run under mcu/fuzz/driver.c (replay and mutate, gcc's sanitizers) and the test
says so. A longer run that grows the corpus: scripts/fuzz_mcu.sh.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from mcu_support import MCU, make, require_tool

pytestmark = pytest.mark.process

TARGETS = ("rx_stream", "device_stream", "message", "blit", "copy", "packbits")
SECONDS_PER_TARGET = 8  # about 50 s in all


def libfuzzer_available() -> bool:
    return shutil.which("clang") is not None and bool(
        glob.glob("/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a")
    )


@pytest.fixture(scope="module")
def fuzzers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bool]:
    build = tmp_path_factory.mktemp("mcu-fuzz")
    if libfuzzer_available():
        make(build, "fuzz", timeout_s=600)
        return build / "fuzz", True
    require_tool("gcc")
    warnings.warn(
        "libFuzzer's runtime is missing (install libclang-rt-dev): the fuzz targets run under "
        "the replay-and-mutate driver with gcc's sanitizers, not coverage-guided",
        stacklevel=1,
    )
    make(build, "fuzz-gcc", timeout_s=600)
    return build / "fuzz-gcc", False


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_finds_nothing(fuzzers: tuple[Path, bool], target: str, tmp_path: Path) -> None:
    folder, guided = fuzzers
    corpus = MCU / "fuzz" / "corpus" / target
    assert any(corpus.iterdir()), f"empty seed corpus {corpus}: run python mcu/fuzz/make_seeds.py"
    args = [str(folder / target), "-seed=1", f"-max_total_time={SECONDS_PER_TARGET}"]
    if guided:  # new inputs go to a scratch folder: the repository's corpus is only read
        # No RSS limit: libFuzzer reads its peak RSS from getrusage, which Linux carries over
        # from the process that started it (pytest, gigabytes after the model tests), so any
        # limit trips at once. The library allocates nothing; a malloc limit catches a leak.
        args += ["-timeout=10", "-rss_limit_mb=0", "-malloc_limit_mb=64"]
        args += ["-print_final_stats=1", str(tmp_path)]
    result = subprocess.run(
        [*args, str(corpus)],
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_TARGET + 60,
        check=False,
        cwd=tmp_path,  # crash-* files land here
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{target} found a fault:\n{output[-4000:]}"
    assert "DONE" in output, output[-2000:]


def test_corpus_stays_small() -> None:
    files = [p for p in (MCU / "fuzz" / "corpus").rglob("*") if p.is_file()]
    assert {p.parent.name for p in files} == set(TARGETS)
    assert sum(p.stat().st_size for p in files) < 512 * 1024  # merged by scripts/fuzz_mcu.sh
