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
# IMGTOOL picks the imgtool to run (default: imgtool on PATH; `pip install imgtool`).
set -euo pipefail
IMGTOOL="${IMGTOOL:-imgtool}"
BOARD_TLV=0xa0
HEADER_BYTES=32

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage

case "$1" in
  keygen)
    [ $# -eq 2 ] || usage
    umask 077  # the private key is readable by its owner only
    "$IMGTOOL" keygen --key "$2.pem" --type ecdsa-p256
    "$IMGTOOL" getpub --key "$2.pem" --encoding pem --output "$2.pub.pem"
    chmod 644 "$2.pub.pem"
    echo "private key: $2.pem  (keep offline)  public key: $2.pub.pem" >&2
    ;;
  sign)
    if [ $# -lt 6 ] || [ $# -gt 7 ]; then usage; fi
    key=$2 version=$3 board=$4 input=$5 output=$6 slot=${7:-65536}
    # --pad-header: the build has no room reserved for the header, imgtool prepends it.
    # --public-key-format hash: the image names its key by SHA-256 (KEYHASH TLV).
    "$IMGTOOL" sign --key "$key" --public-key-format hash --version "$version" \
      --header-size "$HEADER_BYTES" --pad-header --slot-size "$slot" \
      --custom-tlv "$BOARD_TLV" "$board" "$input" "$output" >/dev/null
    echo "signed $output: version $version for $board" >&2
    ;;
  verify)
    [ $# -eq 3 ] || usage
    "$IMGTOOL" verify --key "$2" "$3"
    ;;
  *) usage ;;
esac
