#!/usr/bin/env bash
# Sign display firmware for `glasses flash` with imgtool, MCUboot's own tool (docs/flashing.md).
#
#   scripts/sign_firmware.sh keygen KEYS/NAME
#       new ECDSA P-256 key pair: KEYS/NAME.pem (private: keep it offline, never commit it)
#       and KEYS/NAME.pub.pem (public: goes into the bootloader build and to `glasses flash --key`)
#   scripts/sign_firmware.sh sign KEY.pem VERSION BOARD_ID APP.bin OUT.img [SLOT_BYTES]
#       MCUboot image of APP.bin (raw binary, no header): version VERSION (MAJOR.MINOR.REV[+BUILD]),
#       board id BOARD_ID (HELLO_ACK board_id, e.g. glasses-proto-640) in protected TLV 0xa0,
#       SHA-256 and signature TLVs; SLOT_BYTES (default 65536) is the size of one image slot
#   scripts/sign_firmware.sh verify PUB.pem IMG
#       imgtool's own check of an image: format, hash and signature
#
# HEADER_BYTES (default 32) is the image header imgtool prepends; a Cortex-M app whose vector
# table follows the header needs it aligned for VTOR (mcu/boards/mps2-an386 signs with 0x200).
#
# IMGTOOL picks the imgtool to run (default: the project's .venv/bin/imgtool, else imgtool on
# PATH; install it with  .venv/bin/pip install -e '.[sign]').
set -euo pipefail
venv_imgtool="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/imgtool"
if [ -z "${IMGTOOL:-}" ]; then
  if [ -x "$venv_imgtool" ]; then IMGTOOL=$venv_imgtool; else IMGTOOL=imgtool; fi
fi
BOARD_TLV=0xa0
HEADER_BYTES=${HEADER_BYTES:-32}

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
fail() { echo "sign_firmware.sh: $*" >&2; exit 1; }
need_file() { [ -f "$1" ] || fail "$1: no such file ($2)"; }
[ $# -ge 1 ] || usage
if ! command -v "$IMGTOOL" >/dev/null; then
  fail "imgtool (MCUboot's signing tool) not found: install it with  .venv/bin/pip install -e '.[sign]'"
fi

case "$1" in
  keygen)
    [ $# -eq 2 ] || usage
    mkdir -p -- "$(dirname -- "$2")"
    umask 077  # the private key is readable by its owner only
    "$IMGTOOL" keygen --key "$2.pem" --type ecdsa-p256
    "$IMGTOOL" getpub --key "$2.pem" --encoding pem --output "$2.pub.pem"
    chmod 644 "$2.pub.pem"
    echo "private key: $2.pem  (keep offline)  public key: $2.pub.pem" >&2
    ;;
  sign)
    if [ $# -lt 6 ] || [ $# -gt 7 ]; then usage; fi
    key=$2 version=$3 board=$4 input=$5 output=$6 slot=${7:-65536}
    need_file "$key" "the private key: make one with  bash $0 keygen keys/NAME"
    need_file "$input" "the application binary to sign"
    mkdir -p -- "$(dirname -- "$output")"
    # --pad-header: the build has no room reserved for the header, imgtool prepends it.
    # --public-key-format hash: the image names its key by SHA-256 (KEYHASH TLV).
    "$IMGTOOL" sign --key "$key" --public-key-format hash --version "$version" \
      --header-size "$HEADER_BYTES" --pad-header --slot-size "$slot" \
      --custom-tlv "$BOARD_TLV" "$board" "$input" "$output" >/dev/null
    echo "signed $output: version $version for $board" >&2
    ;;
  verify)
    [ $# -eq 3 ] || usage
    need_file "$2" "the public key"
    need_file "$3" "the image"
    "$IMGTOOL" verify --key "$2" "$3"
    ;;
  *) usage ;;
esac
