"""What is checked before a single byte goes to the glasses, and the errors a flash ends with.

Offline, from the file alone: an MCUboot image (header magic, TLVs), a SHA-256 hash TLV that
matches the contents, a signature by a trusted key, a board TLV. Against the device, from its
HELLO_ACK: the image is built for this board, and not older than what runs unless
downgrades are allowed. Each refusal says why and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from firmware_bridge.update.image import ImageFormatError, ImageVersion, McubootImage, parse_image
from firmware_bridge.update.signature import ImageRejected, TrustedKey, verify_image
from glasses.errors import GlassesError

KEY_ENV: Final = "GLASSES_FIRMWARE_KEY"
MAX_REPORTED_PART: Final = 255  # HELLO_ACK fw_major, fw_minor, fw_patch are u8


class FlashRefused(GlassesError):
    """The image must not be flashed; nothing was written to the glasses."""


class FlashFailed(GlassesError):
    """The update did not complete; the message says what state the glasses are left in."""


def default_key_paths() -> list[Path]:
    """Trusted keys when ``--key`` is not given: ``$GLASSES_FIRMWARE_KEY`` (paths separated
    by ``os.pathsep``), else every ``*.pem`` in ``$XDG_CONFIG_HOME/glasses/firmware-keys/``."""
    env = os.environ.get(KEY_ENV, "")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return sorted((config / "glasses" / "firmware-keys").glob("*.pem"))


def load_keys(paths: Sequence[Path]) -> list[TrustedKey]:
    if not paths:
        raise FlashRefused(
            "no trusted firmware key: pass --key PUBLIC.pem, set $GLASSES_FIRMWARE_KEY, or put "
            "the public key in ~/.config/glasses/firmware-keys/ (docs/flashing.md)"
        )
    try:
        return [TrustedKey.from_file(p) for p in paths]
    except ImageRejected as exc:
        raise FlashRefused(str(exc)) from None


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed the offline checks."""

    path: Path
    image: McubootImage
    key: TrustedKey
    board: str

    @property
    def data(self) -> bytes:
        return self.image.data

    @property
    def version(self) -> ImageVersion:
        return self.image.version

    @property
    def hash(self) -> bytes:
        digest = self.image.hash_tlv
        assert digest is not None  # verify_image checked it
        return digest


def check_image(path: Path, keys: Sequence[TrustedKey]) -> CheckedImage:
    """Read and check ``path`` offline; FlashRefused names the first problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlashRefused(f"cannot read {path}: {exc.strerror}") from None
    try:
        image = parse_image(data)
        key = verify_image(image, keys)
    except (ImageFormatError, ImageRejected) as exc:
        raise FlashRefused(f"refusing {path.name}: {exc}") from None
    v = image.version
    if max(v.major, v.minor, v.revision) > MAX_REPORTED_PART:
        # MCUboot's header holds a 16-bit revision, but HELLO_ACK carries one byte per part
        # (docs/protocol.md 11.2): after the reboot the host could not tell that it runs.
        raise FlashRefused(
            f"refusing {path.name}: version {v} does not fit the firmware version the glasses "
            f"report (HELLO_ACK: major, minor and revision up to {MAX_REPORTED_PART} each), so "
            "the update could not be checked after the reboot; sign it with a revision of "
            f"{MAX_REPORTED_PART} or less (raise the minor version instead)"
        )
    if image.board is None:
        raise FlashRefused(
            f"refusing {path.name}: it does not say which board it is for (no board TLV 0xa0); "
            "sign it with --custom-tlv 0xa0 BOARD_ID (docs/flashing.md)"
        )
    return CheckedImage(path, image, key, image.board)


def check_target(
    checked: CheckedImage, board_id: str, running: tuple[int, int, int], allow_downgrade: bool
) -> None:
    """Refuse an image for another board, or older than ``running`` unless allowed."""
    name = checked.path.name
    if checked.board != board_id:
        raise FlashRefused(
            f"refusing {name}: it is built for board {checked.board!r}, these glasses are "
            f"{board_id!r}; use the build for {board_id!r}"
        )
    running_text = ".".join(map(str, running))
    if checked.version.triple < running and not allow_downgrade:
        raise FlashRefused(
            f"refusing {name}: version {checked.version} is older than the running "
            f"{running_text}; pass --allow-downgrade to install it anyway"
        )


__all__ = [
    "KEY_ENV",
    "CheckedImage",
    "FlashFailed",
    "FlashRefused",
    "check_image",
    "check_target",
    "default_key_paths",
    "load_keys",
]
