#!/usr/bin/env bash
# The arm64 check: this checkout, set up and run as a new user would on a Raspberry Pi OS
# (Debian bookworm, Python 3.11, aarch64) root, under qemu-user emulation on any Debian host.
#
#   sudo bash scripts/check_arm64.sh [--root DIR] [--cpu MODEL] [--skip STEP]... [--wheels-only]
#
# Steps (each timed; a summary table is printed at the end):
#   root     debootstrap a minimal bookworm arm64 root (reused when DIR already holds one)
#   copy     copy the checkout (tracked and untracked, not ignored files) into DIR/work/glasses
#   setup    bash scripts/setup.sh                      (the README's first command, first half)
#   demo     .venv/bin/glasses demo --step-s 0           (...and its second half; each step may
#            take $DEMO_STEP_TIMEOUT_S, default 600: emulated OCR alone takes ~40 s, more on a busy host)
#   read     glasses read on a sign drawn with the CJK font; the expected words must come back
#   testdeps the test extras (tiny models are built with onnx), then pip check
#   llm      glasses llm generate on a tiny random-weight Qwen3 (int4 MatMulNBits)
#   tests    a representative slice of the test suite
#   pi-numpy a venv over Debian's python3-numpy 1.24 with scripts/constraints/pi-bookworm.txt,
#            as scripts/install.sh builds it on a Pi: numpy must stay 1.24 and the stack import
#   ort      onnxruntime's import under several emulated CPU models, for each of $ORT_VERSIONS
#            (default: the newest wheel; docs/field.md's sweep: ORT_VERSIONS="1.20.1 1.21.1 ...")
#   wheels   (on the host) how pip resolves every extra for cp311 and cp310 aarch64:
#            wheel or source build, per package
#
# --cpu: the CPU qemu emulates (QEMU_CPU): cortex-a76 (default: a Raspberry Pi 5's core, with
# the dot-product instructions) or cortex-a72 (a Pi 4's: the slow int4 path).  bookworm's qemu
# 7.2 crashes inside onnxruntime's import (newer wheels, any CPU model): where the host has it,
# trixie's qemu is fetched from Debian's archive and used while the check runs (step ort
# compares the two).  Needs root (debootstrap, chroot, mounts), debootstrap and qemu-user-static from Debian's
# packages (installed when missing), and the network to Debian's archive and PyPI.  It takes
# 20 to 40 minutes; it is not part of the normal test run.  docs/field.md records a run.
# Commands run inside the root are single-quoted on purpose: they expand there, not here.
# shellcheck disable=SC2016
set -euo pipefail

ROOT=/var/tmp/glasses-arm64/root
CPU=cortex-a76
MIRROR=http://deb.debian.org/debian
SLICE=(
  tests/test_protocol_vectors.py tests/test_protocol_roundtrip.py tests/test_link_session.py
  tests/test_link_sim.py tests/test_display_render.py tests/test_llm_generation.py
  tests/test_llm_tokenizer.py tests/test_perception_vad.py tests/test_perception_ocr.py
  tests/test_perception_asr_tiny.py tests/test_config.py tests/test_doctor.py
)
skip=" "
wheels_only=0
DEMO_STEP_TIMEOUT_S="${DEMO_STEP_TIMEOUT_S:-600}"  # a fixed 60 s says nothing about the boards
ORT_VERSIONS="${ORT_VERSIONS:-newest}"

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ "$#" -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a folder}"; shift ;;
    --cpu) CPU="${2:?--cpu needs a qemu CPU model}"; shift ;;
    --skip) skip+="${2:?--skip needs a step} "; shift ;;
    --wheels-only) wheels_only=1 ;;
    -h|--help) usage ;;
    *) echo "check_arm64: unknown option $1" >&2; usage ;;
  esac
  shift
done

src="$(cd "$(dirname "$0")/.." && pwd)"
LOG_DIR="$ROOT/../logs"
declare -a summary=()

# step NAME COMMAND...: runs COMMAND with its output in LOG_DIR/NAME.log, records the result.
step() {
  local name="$1" start rc
  shift
  if [[ "$skip" == *" $name "* ]]; then summary+=("$(printf '%-9s %-7s %7s  %s' "$name" skipped - "")"); return 0; fi
  echo "check_arm64: $name ..." >&2
  start=$(date +%s)
  set +e
  "$@" >"$LOG_DIR/$name.log" 2>&1
  rc=$?
  set -e
  local took=$(($(date +%s) - start)) result=ok
  [ "$rc" = 0 ] || result="FAIL($rc)"
  summary+=("$(printf '%-9s %-7s %6ss  %s' "$name" "$result" "$took" "$(tail -n 1 "$LOG_DIR/$name.log" | cut -c1-90)")")
  echo "check_arm64: $name $result in ${took}s (log: $LOG_DIR/$name.log)" >&2
}

# in_root COMMAND: runs a bash command inside the root, in the checkout, with a clean environment.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb QEMU_CPU="$CPU" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /work/glasses && $1"
}

wheel_table() { # how pip resolves the extras for aarch64, per Python version (no emulation)
  # The flash extra is left out: smp needs crcmod, which PyPI has only as source (it builds
  # anywhere, and falls back to pure Python without a compiler), and --platform takes wheels only.
  local extras="llm,audio,asr,ocr,camera,models,serve" py report
  for py in 3.11 3.10; do
    report="$(mktemp)"
    python3 -m pip install --quiet --dry-run --ignore-installed --report "$report" \
      --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
      --platform manylinux_2_17_aarch64 --python-version "$py" --implementation cp \
      --only-binary=:all: --target "$(mktemp -d)" "${src}[$extras]" 2>&1 | grep -v '^WARNING: Location' | tail -n 5 || true
    [ -s "$report" ] && python3 - "$report" "$py" <<'PY' || echo "cp${py/./} aarch64: the resolver found no wheel-only set (see above)"
import json, sys
report = json.load(open(sys.argv[1]))
print(f"## cp{sys.argv[2].replace('.', '')} aarch64: {len(report['install'])} packages")
for item in sorted(report["install"], key=lambda i: i["metadata"]["name"].lower()):
    url = item["download_info"]["url"]
    name = url.rsplit("/", 1)[-1]
    kind = "wheel" if name.endswith(".whl") else "source"
    tag = "-".join(name.removesuffix(".whl").split("-")[-3:]) if kind == "wheel" else name
    print(f"| {item['metadata']['name']} | {item['metadata']['version']} | {tag} |")
PY
    rm -f "$report"
  done
}

need_root() {
  if [ "$(id -u)" != 0 ]; then echo "check_arm64: run as root (sudo bash $0)" >&2; exit 1; fi
}

ensure_tools() {
  local pkgs=()
  command -v debootstrap >/dev/null || pkgs+=(debootstrap)
  [ -e /usr/bin/qemu-aarch64-static ] || pkgs+=(qemu-user-static)
  command -v update-binfmts >/dev/null || pkgs+=(binfmt-support)
  if [ "${#pkgs[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
  # Containers often start without binfmt_misc mounted, and then nothing registered qemu.
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    update-binfmts --enable qemu-aarch64 || update-binfmts --import qemu-aarch64
  fi
  grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || {
    echo "check_arm64: qemu-aarch64 is registered without the F flag; chroot cannot find it" >&2
    exit 1
  }
  newer_qemu
}

# bookworm's qemu 7.2 crashes (SIGSEGV) in onnxruntime's import from 1.2x on, whatever CPU it
# emulates, where trixie's qemu 10 imports it (docs/field.md): on a host with qemu older than 8,
# trixie's qemu-user is fetched from Debian's archive into a cache beside the root and
# registered for aarch64 ahead of the host's (the kernel tries the newest entry first) until
# this script exits.
QEMU=/usr/bin/qemu-aarch64-static
newer_qemu() {
  local major cache lists deb
  major="$("$QEMU" --version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')"
  [ "${major:-0}" -lt 8 ] || return 0
  cache="$(dirname "$ROOT")/qemu-trixie"
  if [ ! -x "$cache/usr/bin/qemu-aarch64" ]; then
    echo "check_arm64: qemu $major is too old for onnxruntime; fetching trixie's qemu-user" >&2
    lists="$cache/lists"
    mkdir -p "$lists/partial" "$cache/deb"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$cache/trixie.list"
    local apt_opts=(-o "Dir::Etc::SourceList=$cache/trixie.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$lists" -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update -qq
    (cd "$cache/deb" && apt-get "${apt_opts[@]}" download qemu-user)
    deb="$(ls "$cache"/deb/qemu-user_*.deb)"
    dpkg-deb -x "$deb" "$cache"
  fi
  QEMU="$cache/usr/bin/qemu-aarch64"
  local entry=/proc/sys/fs/binfmt_misc/glasses-aarch64
  [ -e "$entry" ] && echo -1 >"$entry"
  printf '%s' ':glasses-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$QEMU"':PF' \
    >/proc/sys/fs/binfmt_misc/register
}

drop_newer_qemu() {
  local entry=/proc/sys/fs/binfmt_misc/glasses-aarch64
  if [ -e "$entry" ]; then echo -1 >"$entry"; fi
}

make_root() {
  if [ -x "$ROOT/usr/bin/python3" ]; then echo "reusing $ROOT"; return 0; fi
  mkdir -p "$ROOT"
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$ROOT" "$MIRROR"
}

mount_root() {
  local dir
  for dir in proc sys dev dev/pts; do
    mkdir -p "$ROOT/$dir"
    mountpoint -q "$ROOT/$dir" && continue
    case "$dir" in
      proc) mount -t proc proc "$ROOT/proc" ;;
      dev/pts) mount -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOT/dev/pts" ;;
      *) mount --rbind "/$dir" "$ROOT/$dir" ;;
    esac
  done
  # The pty master must be the devpts instance mounted above.
  if [ ! -L "$ROOT/dev/ptmx" ]; then mount --bind "$ROOT/dev/pts/ptmx" "$ROOT/dev/ptmx" 2>/dev/null || true; fi
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
  # CAs the host added itself (a company's TLS-inspecting proxy) are trusted in the root too.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    chroot "$ROOT" update-ca-certificates >/dev/null 2>&1
  fi
}

unmount_root() {
  local dir
  umount "$ROOT/dev/ptmx" 2>/dev/null || true
  for dir in dev/pts dev sys proc; do
    mountpoint -q "$ROOT/$dir" && umount -R "$ROOT/$dir" 2>/dev/null || umount -lR "$ROOT/$dir" 2>/dev/null || true
  done
}

copy_checkout() {
  rm -rf "$ROOT/work/glasses.new"
  mkdir -p "$ROOT/work/glasses.new"
  (cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
    tar -xf - -C "$ROOT/work/glasses.new"
  # Keep a venv from an earlier run (setup.sh upgrades it in place); replace everything else.
  if [ -d "$ROOT/work/glasses/.venv" ]; then mv "$ROOT/work/glasses/.venv" "$ROOT/work/glasses.new/.venv"; fi
  rm -rf "$ROOT/work/glasses"
  mv "$ROOT/work/glasses.new" "$ROOT/work/glasses"
  echo "copied $(find "$ROOT/work/glasses" -path '*/.venv' -prune -o -type f -print | wc -l) files"
}

read_sign() {
  in_root '.venv/bin/python - <<PY
from PIL import Image, ImageDraw, ImageFont
import subprocess
font = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True).stdout
image = Image.new("RGB", (900, 300), "white")
draw = ImageDraw.Draw(image)
draw.text((40, 40), "West Lake boats", fill="black", font=ImageFont.truetype(font, 64))
draw.text((40, 160), "西湖游船 码头", fill="black", font=ImageFont.truetype(font, 64))
image.save("/tmp/sign.png")
PY
out="$(.venv/bin/glasses read /tmp/sign.png)"; echo "$out"
echo "$out" | grep -q "West Lake boats" && echo "$out" | grep -q "西湖游船"'
}

llm_generate() {
  in_root '.venv/bin/python scripts/build_test_model.py /tmp/tiny-qwen3 --int4 &&
    .venv/bin/glasses llm generate --model /tmp/tiny-qwen3 --prompt "你好, West Lake?" \
      --max-new-tokens 16 --greedy --json | tee /tmp/llm.json &&
    .venv/bin/python -c "import json; r = json.load(open(\"/tmp/llm.json\")); assert len(r[\"token_ids\"]) > 0, r; print(\"tokens out:\", len(r[\"token_ids\"]))"'
}

pi_numpy() {
  # What scripts/install.sh --platform pi builds: a venv over the system's packages, where apt's
  # numpy (1.24, the one picamera2's helpers are compiled against) must not be replaced.
  in_root 'export DEBIAN_FRONTEND=noninteractive
    dpkg -s python3-numpy >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-numpy >/dev/null; }
    rm -rf /tmp/pi-venv && python3 -m venv --system-site-packages /tmp/pi-venv &&
    /tmp/pi-venv/bin/python -m pip install -q -c scripts/constraints/pi-bookworm.txt ".[llm,audio,asr,ocr,camera]" &&
    /tmp/pi-venv/bin/python -m pip check &&
    /tmp/pi-venv/bin/python -c "import numpy, cv2, onnxruntime, sherpa_onnx, rapidocr_onnxruntime; print(\"numpy\", numpy.__version__, numpy.__file__); print(\"cv2\", cv2.__version__, \"onnxruntime\", onnxruntime.__version__); assert numpy.__file__.startswith(\"/usr/lib/python3/dist-packages\"), \"numpy is a venv copy, not the one from apt\""'
}

ort_cpus() {
  # onnxruntime's newest wheel under the host's qemu and the one this check runs with, for
  # several emulated CPUs: which of emulator, CPU model and wheel makes the import crash.
  local dir="$ROOT/usr/local/lib/glasses-qemu"
  mkdir -p "$dir"
  cp /usr/bin/qemu-aarch64-static "$dir/host"
  cp "$QEMU" "$dir/check"
  in_root 'rm -rf /tmp/ort-venv && python3 -m venv /tmp/ort-venv &&
    for want in '"$ORT_VERSIONS"'; do
      spec=onnxruntime; [ "$want" = newest ] || spec="onnxruntime==$want"
      /tmp/ort-venv/bin/python -m pip install -q --upgrade "$spec" || { echo "onnxruntime $want: no wheel"; continue; }
      v=$(/tmp/ort-venv/bin/python -m pip show onnxruntime | sed -n "s/^Version: //p")
      for q in host check; do
        qv=$(/usr/local/lib/glasses-qemu/$q --version | sed -n "1s/.*version \([0-9.]*\).*/\1/p")
        for cpu in max cortex-a76 cortex-a72; do
          if /usr/local/lib/glasses-qemu/$q -cpu $cpu /tmp/ort-venv/bin/python -c "import onnxruntime" >/dev/null 2>&1
          then r=imports; else r="crashes (exit $?)"; fi
          echo "onnxruntime $v, qemu $qv, -cpu $cpu: $r"
        done
      done
    done' | tee "$LOG_DIR/ort-table.txt"
}

if [ "$wheels_only" = 1 ]; then wheel_table; exit 0; fi
need_root
mkdir -p "$(dirname "$ROOT")"
mkdir -p "$LOG_DIR"
LOG_DIR="$(cd "$LOG_DIR" && pwd)"
rm -f "$LOG_DIR/ort-table.txt"  # printed at the end only when this run made it
ensure_tools
trap 'unmount_root; drop_newer_qemu' EXIT
step root make_root
mount_root
step copy copy_checkout
step setup in_root 'bash scripts/setup.sh'
step demo in_root 'timeout 1800 .venv/bin/glasses demo --step-s 0 --web-port 0 --out /tmp/demo --step-timeout-s '"$DEMO_STEP_TIMEOUT_S"
step read read_sign
step testdeps in_root ".venv/bin/python -m pip install -q -e '.[test,audio,asr,llm,models,ocr]' && .venv/bin/python -m pip check"
step llm llm_generate
step tests in_root ".venv/bin/python -m pytest -q -p no:cacheprovider --timeout 1800 ${SLICE[*]}"
step pi-numpy pi_numpy
step ort ort_cpus
step wheels wheel_table

echo
echo "arm64 check on $(uname -m) host, qemu $("$QEMU" --version | sed -n '1s/.*version \([0-9.]*\).*/\1/p'), QEMU_CPU=$CPU, root $ROOT"
printf '%-9s %-7s %7s  %s\n' step result time "last line of its log"
printf '%s\n' "${summary[@]}"
[ -f "$LOG_DIR/ort-table.txt" ] && cat "$LOG_DIR/ort-table.txt"
! printf '%s\n' "${summary[@]}" | grep -q FAIL
