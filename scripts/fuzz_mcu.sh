#!/usr/bin/env bash
# A longer fuzzing run of the C device library (mcu/fuzz/), growing and then minimising the
# corpus kept in the repository (mcu/fuzz/corpus/<target>/).
#
#   scripts/fuzz_mcu.sh [SECONDS_PER_TARGET] [TARGET...]     # default 300 s, every target
#
# Needs clang and libFuzzer's runtime (Debian: clang libclang-rt-dev). Crashes are written to
# mcu/build/fuzz-crashes/; each one is a bug in the library: fix it, then add the input to the
# corpus so the tests replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(rx_stream device_stream message blit copy packbits)
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
  echo "fuzz_mcu: libFuzzer's runtime is missing: install the Debian packages clang libclang-rt-dev" >&2
  exit 1
fi
make -s -C mcu fuzz
mkdir -p mcu/build/fuzz-crashes mcu/build/fuzz-new
for t in "${targets[@]}"; do
  corpus=mcu/fuzz/corpus/$t
  new=mcu/build/fuzz-new/$t
  mkdir -p "$new"
  echo "fuzz_mcu: $t for $seconds s" >&2
  mcu/build/fuzz/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=0 -malloc_limit_mb=64 \
    -artifact_prefix=mcu/build/fuzz-crashes/"$t"- -print_final_stats=1 "$new" "$corpus"
  # Keep the corpus small: only inputs that add coverage, old and new together.
  merged=mcu/build/fuzz-new/$t.merged
  rm -rf "$merged" && mkdir -p "$merged"
  mcu/build/fuzz/"$t" -merge=1 "$merged" "$corpus" "$new" >/dev/null 2>&1
  rm -rf "$corpus" && mv "$merged" "$corpus"
  echo "fuzz_mcu: $t corpus $(find "$corpus" -type f | wc -l) inputs, $(du -sk "$corpus" | cut -f1) KiB" >&2
done
