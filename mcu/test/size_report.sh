#!/bin/sh
# Sizes of build/arm/<profile>/size.elf, RAM = .data + .bss, flash = .text + .rodata + .data,
# checked against the RAM of the part each profile targets. Usage: size_report.sh DIR PROFILES...
set -eu
dir=$1
shift
status=0
printf '%-10s %8s %8s %8s %8s  %s\n' profile text+ro data bss ram budget
for p in "$@"; do
  # RAM budgets: the part each profile is for (docs in mcu/README.md).
  case $p in
    640x400x4) ram_max=262144 flash_max=1048576 ;;  # nRF52840: 256 KiB RAM, 1 MiB flash
    576x136x1) ram_max=65536 flash_max=262144 ;;    # a 64 KiB part
    128x64x1) ram_max=32768 flash_max=131072 ;;     # a 32 KiB part
    *) echo "size_report: no budget for profile $p" >&2; exit 1 ;;
  esac
  arm-none-eabi-size -A "$dir/$p/size.elf" | awk -v p="$p" -v rmax="$ram_max" -v fmax="$flash_max" '
    $1 == ".text" || $1 == ".rodata" || $1 ~ /^\.ARM\.ex/ || $1 == ".init_array" || $1 == ".fini_array" { text += $2 }
    $1 == ".data" { data += $2 }
    $1 == ".bss" { bss += $2 }
    END {
      ram = data + bss; flash = text + data
      ok = (ram <= rmax && flash <= fmax) ? "ok" : "OVER"
      printf "%-10s %8d %8d %8d %8d  ram<=%d flash<=%d %s\n", p, text, data, bss, ram, rmax, fmax, ok
      exit ok == "ok" ? 0 : 1
    }' || status=1
done
exit $status
