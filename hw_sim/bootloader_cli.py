"""``glasses-sim display`` options for the simulated bootloader, flash and power cuts.

Without ``--bootloader-key`` the display has no firmware update support, as before. With it,
the MCU boots through a simulated MCUboot that trusts that key, and speaks SMP after
ENTER_BOOTLOADER (docs/flashing.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hw_sim.profiles import Profile

if TYPE_CHECKING:
    from hw_sim.mcu import FirmwareConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("firmware updates (simulated MCUboot and SMP server)")
    g.add_argument(
        "--bootloader-key",
        action="append",
        type=Path,
        metavar="PUB.pem",
        help="enable the bootloader; it accepts images signed by this key (repeatable)",
    )
    g.add_argument(
        "--initial-image",
        type=Path,
        metavar="IMG",
        help="signed image in slot 0 at start; without it, a built-in factory image with "
        "the profile's version",
    )
    g.add_argument(
        "--watchdog",
        type=float,
        default=2.0,
        metavar="S",
        help="a hung app is reset by its watchdog after S seconds",
    )
    g.add_argument(
        "--cut-power-smp",
        type=int,
        metavar="UNITS",
        help="power cut after UNITS of flash work (a byte written or a sector erased) "
        "in the first SMP session that does that much, e.g. mid-upload",
    )
    g.add_argument(
        "--cut-power-boot",
        type=int,
        metavar="UNITS",
        help="power cut after UNITS of flash work in the first boot that does that "
        "much, e.g. mid-swap",
    )
    g.add_argument(
        "--power-off", type=float, default=0.3, metavar="S", help="how long a power cut lasts"
    )


def firmware_config(args: argparse.Namespace, profile: Profile) -> FirmwareConfig | None:
    """The bootloader settings, or None without --bootloader-key; ValueError when wrong."""
    if not args.bootloader_key:
        if args.initial_image or args.cut_power_smp is not None or args.cut_power_boot is not None:
            raise ValueError("--initial-image and --cut-power-* need --bootloader-key")
        return None
    from firmware_bridge.extras import ExtraImportError
    from firmware_bridge.update.image import ImageFormatError, parse_image
    from firmware_bridge.update.signature import ImageRejected, TrustedKey, verify_image

    try:
        from hw_sim.mcu import FirmwareConfig
    except ExtraImportError as exc:
        raise ValueError(str(exc)) from None
    try:
        pems = tuple(path.read_bytes() for path in args.bootloader_key)
        keys = [
            TrustedKey.from_pem(pem, str(p))
            for pem, p in zip(pems, args.bootloader_key, strict=True)
        ]
        initial = args.initial_image.read_bytes() if args.initial_image else None
        if initial is not None:
            image = parse_image(initial)
            verify_image(image, keys)
            if image.board not in (None, profile.board_id):
                raise ValueError(f"--initial-image is for {image.board}, not {profile.board_id}")
    except OSError as exc:
        raise ValueError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except (ImageFormatError, ImageRejected) as exc:
        raise ValueError(f"--initial-image: {exc}") from None
    if args.watchdog <= 0 or args.power_off <= 0:
        raise ValueError("--watchdog and --power-off must be positive")
    return FirmwareConfig(
        key_pems=pems,
        initial_image=initial,
        watchdog_s=args.watchdog,
        power_off_s=args.power_off,
        cut_smp_units=args.cut_power_smp,
        cut_boot_units=args.cut_power_boot,
    )


__all__ = ["add_arguments", "firmware_config"]
