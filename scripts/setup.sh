#!/usr/bin/env bash
# Sets up this checkout on a Debian / Raspberry Pi OS / Ubuntu (JetPack) machine:
#   bash scripts/setup.sh        system fonts + a .venv with the runtime
#   bash scripts/setup.sh test   the same, plus what the test suite needs (browser, test extras)
# System packages are installed with apt only when missing (as root, or through sudo).
# The run mode then pulls the default speech and language models (~1.2 GB, resumable) when the
# model hub answers; --no-models or GLASSES_SKIP_MODELS=1 skips that (as do test mode and CI).
# GLASSES_SETUP_DRY_RUN=1 prints the apt, pip and model commands instead of running them.
set -euo pipefail
mode=run
pull_models=1
for arg in "$@"; do
  case "$arg" in
    run|test) mode="$arg" ;;
    --no-models) pull_models=0 ;;
    *) echo "usage: $0 [run|test] [--no-models]" >&2; exit 2 ;;
  esac
done
[ "${GLASSES_SKIP_MODELS:-}" = 1 ] && pull_models=0
dry_run="${GLASSES_SETUP_DRY_RUN:-0}"
run() {
  if [ "$dry_run" = 1 ]; then printf '+ %s\n' "$*" >&2; else "$@"; fi
}
cd "$(dirname "$0")/.."

apt_pkgs=()
# A shared library the loader finds (ldconfig is in /sbin, often off a user's PATH; awk reads all
# of its output, so no broken pipe trips pipefail).
has_lib() {
  PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null |
    awk -v lib="$1" '$1 == lib { found = 1 } END { exit !found }'
}
# The OpenCV wheel that rapidocr-onnxruntime (OCR) pulls in loads these when imported; a minimal
# Debian / Raspberry Pi OS / Ubuntu lacks them ("libGL.so.1: cannot open shared object file").
has_lib libGL.so.1 || apt_pkgs+=(libgl1)
has_lib libgthread-2.0.so.0 || apt_pkgs+=(libglib2.0-0)
# A font that covers Chinese, Japanese and Korean; found through fontconfig.
if ! { command -v fc-list >/dev/null && fc-list :lang=zh-cn file | grep -q .; }; then
  apt_pkgs+=(fontconfig fonts-noto-cjk)
fi
# Bitmap CJK font for small text on 1-bit displays (outline fonts lose strokes at 12 px).
[ -f /usr/share/fonts/X11/misc/wenquanyi_9pt.pcf ] || apt_pkgs+=(xfonts-wqy)
# The demo speaks to the simulated microphone with espeak-ng (a synthetic buzz without it).
command -v espeak-ng >/dev/null || apt_pkgs+=(espeak-ng)
if [ "$mode" = test ]; then
  # The simulator's live page is tested in a real headless browser.
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  # The install script and the systemd unit are linted in the tests.
  command -v shellcheck >/dev/null || apt_pkgs+=(shellcheck)
  # The C device library (mcu/) is built and fuzzed natively and for Cortex-M4 in the tests.
  command -v clang >/dev/null || apt_pkgs+=(clang)
  ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 ||
    apt_pkgs+=(libclang-rt-dev)
  command -v arm-none-eabi-gcc >/dev/null || apt_pkgs+=(gcc-arm-none-eabi)
  [ -f /usr/lib/arm-none-eabi/lib/thumb/v7e-m/nofp/libc_nano.a ] || apt_pkgs+=(libnewlib-arm-none-eabi)
  # The reference firmware (mcu/boards/mps2-an386) runs under QEMU against the host's tests.
  command -v qemu-system-arm >/dev/null || apt_pkgs+=(qemu-system-arm)
  # A font without CJK glyphs, to test the missing-glyph error.
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_pkgs+=(fonts-dejavu-core)
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null || [ "$dry_run" = 1 ]; then sudo=(sudo); else
    echo "setup: please install these Debian packages first: ${apt_pkgs[*]}" >&2; exit 1
  fi
  echo "setup: installing ${apt_pkgs[*]}" >&2
  # Another apt (unattended-upgrades, a package manager window) may hold the dpkg lock: wait.
  run "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

run python3 -m venv .venv
run .venv/bin/python -m pip install -q --upgrade pip
# This checkout was once installed as "glasses" (now glasses-runtime: PyPI's "glasses" is another
# package); an old .venv would hold both distributions of the same files.
if .venv/bin/python -m pip show glasses 2>/dev/null | grep -qx "Editable project location: $PWD"; then
  run .venv/bin/python -m pip uninstall -y -q glasses
fi
if [ "$mode" = test ]; then
  run .venv/bin/python -m pip install -q -e ".[test,audio,asr,llm,models,ocr]"
else
  # Everything the demo uses: microphone and VAD, speech recognition, the LLM, pulls, OCR.
  run .venv/bin/python -m pip install -q -e ".[audio,asr,llm,models,ocr]"
fi

# The LLM cross-checks against independent references (transformers, the real onnxruntime-genai
# model builder, the real Optimum exporter) need torch: on CI (CI=true) or when asked with
# GLASSES_TORCH_CHECKS=1. torch is pinned to a CPU build first, so nothing pulls a CUDA build;
# these pins are mutually compatible (optimum-onnx needs transformers < 4.58, whose builders
# onnxruntime-genai 0.15 still speaks). Elsewhere those tests skip, saying what to install.
if [ "$mode" = test ] && { [ "${CI:-}" = true ] || [ "${GLASSES_TORCH_CHECKS:-}" = 1 ]; }; then
  echo "setup: installing torch (CPU) and the LLM reference tools for the cross-checks" >&2
  run .venv/bin/python -m pip install -q "torch==2.13.0"
  run .venv/bin/python -m pip install -q "torch==2.13.0" "transformers==4.57.6" \
    "optimum-onnx==0.1.0" "onnxruntime-genai==0.15.2"
fi

# The default speech and language models (the registry's default set), with progress; the
# command itself checks that the hub ($HF_ENDPOINT) answers and says so in one line if not.
# A failed pull leaves the set-up usable (the demo runs with stand-ins) and resumes next time.
if [ "$mode" = run ] && [ "${CI:-}" != true ]; then
  if [ "$pull_models" = 1 ]; then
    run .venv/bin/glasses models pull --defaults --if-reachable ||
      echo "setup: the model pull stopped; the demo will use stand-ins" \
        "(resume: .venv/bin/glasses models pull --defaults)" >&2
  else
    echo "setup: models not pulled; the demo will use stand-ins" \
      "(pull later: .venv/bin/glasses models pull --defaults)" >&2
  fi
fi
[ "$dry_run" = 1 ] && exit 0
echo "setup: ready ($mode): $(.venv/bin/python --version), $(pwd)/.venv" >&2
