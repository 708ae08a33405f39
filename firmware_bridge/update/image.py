"""The MCUboot image format: a 32-byte header, the firmware body and two TLV areas.

Layout (https://docs.mcuboot.com/design.html#image-format), all little-endian::

    header (hdr_size bytes, the first 32 used) | body (img_size bytes)
    | protected TLV area (protect_tlv_size bytes, may be absent) | TLV area

The SHA-256 in the TLV area covers header, body and protected TLVs; the signature covers
that hash. The board an image is built for travels in a protected TLV (``BOARD_TLV``), so it
is signed too and cannot be changed without breaking the signature.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from dataclasses import dataclass
from typing import Final

IMAGE_MAGIC: Final = 0x96F3B83D
HEADER = struct.Struct("<IIHHIIBBHI4x")  # magic, load_addr, hdr_size, protect_tlv_size,
# img_size, flags, version major, minor, revision, build_num
TLV_INFO = struct.Struct("<HH")  # magic, total size of the area including this info
TLV_ENTRY = struct.Struct("<HH")  # type, length of the value
TLV_INFO_MAGIC: Final = 0x6907
TLV_PROT_INFO_MAGIC: Final = 0x6908
# Vendor TLV (MCUboot reserves 0x00A0..0xFFFE for vendors): ASCII board id, as in HELLO_ACK.
BOARD_TLV: Final = 0x00A0


class Tlv(enum.IntEnum):
    KEYHASH = 0x01
    PUBKEY = 0x02
    SHA256 = 0x10
    SHA384 = 0x11
    SHA512 = 0x12
    RSA2048_PSS = 0x20
    ECDSA_SIG = 0x22
    RSA3072_PSS = 0x23
    ED25519 = 0x24
    SIG_PURE = 0x25


class ImageFlag(enum.IntFlag):
    ENCRYPTED_AES128 = 0x04
    ENCRYPTED_AES256 = 0x08
    NON_BOOTABLE = 0x10
    RAM_LOAD = 0x20
    COMPRESSED = 0x200 | 0x400 | 0x800


_UNSUPPORTED_FLAGS: Final = (
    ImageFlag.ENCRYPTED_AES128 | ImageFlag.ENCRYPTED_AES256 | ImageFlag.COMPRESSED
)


class ImageFormatError(ValueError):
    """Bytes that are not an MCUboot image this project can install; says what is wrong."""


@dataclass(frozen=True, order=True)
class ImageVersion:
    major: int
    minor: int
    revision: int
    build: int = 0

    @property
    def triple(self) -> tuple[int, int, int]:
        """What the display protocol carries (HELLO_ACK fw_version)."""
        return (self.major, self.minor, self.revision)

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.revision}"
        return f"{base}+{self.build}" if self.build else base


@dataclass(frozen=True)
class McubootImage:
    """A parsed image; ``data`` is the whole file (trailing padding included)."""

    data: bytes
    load_addr: int
    hdr_size: int
    protect_tlv_size: int
    img_size: int
    flags: int
    version: ImageVersion
    protected_tlvs: tuple[tuple[int, bytes], ...]
    tlvs: tuple[tuple[int, bytes], ...]
    total_size: int

    @property
    def hashed_region(self) -> bytes:
        """Header, body and protected TLVs: what the SHA-256 TLV covers."""
        return self.data[: self.hdr_size + self.img_size + self.protect_tlv_size]

    @property
    def body(self) -> bytes:
        return self.data[self.hdr_size : self.hdr_size + self.img_size]

    def tlv(self, kind: int) -> bytes | None:
        """The value of the first TLV of ``kind`` (protected first), or None."""
        for tlv_type, value in (*self.protected_tlvs, *self.tlvs):
            if tlv_type == kind:
                return value
        return None

    @property
    def hash_tlv(self) -> bytes | None:
        return self.tlv(Tlv.SHA256)

    def computed_hash(self) -> bytes:
        return hashlib.sha256(self.hashed_region).digest()

    @property
    def board(self) -> str | None:
        raw = next((v for t, v in self.protected_tlvs if t == BOARD_TLV), None)
        return None if raw is None else raw.decode("ascii", "replace")


def _parse_tlv_area(
    data: bytes, offset: int, magic: int, what: str
) -> tuple[list[tuple[int, bytes]], int]:
    if offset + TLV_INFO.size > len(data):
        raise ImageFormatError(f"the file ends before the {what} ({len(data)} bytes)")
    found, total = TLV_INFO.unpack_from(data, offset)
    if found != magic:
        raise ImageFormatError(f"bad {what} magic {found:#06x} (expected {magic:#06x})")
    end = offset + total
    if total < TLV_INFO.size or end > len(data):
        raise ImageFormatError(f"the {what} claims {total} bytes but the file is shorter")
    entries: list[tuple[int, bytes]] = []
    pos = offset + TLV_INFO.size
    while pos < end:
        if pos + TLV_ENTRY.size > end:
            raise ImageFormatError(f"a truncated entry in the {what}")
        kind, length = TLV_ENTRY.unpack_from(data, pos)
        pos += TLV_ENTRY.size
        if pos + length > end:
            raise ImageFormatError(f"TLV {kind:#06x} runs past the end of the {what}")
        entries.append((kind, data[pos : pos + length]))
        pos += length
    return entries, total


def parse_image(data: bytes) -> McubootImage:
    """Parse ``data`` strictly; ImageFormatError names the first problem found."""
    if len(data) < HEADER.size:
        raise ImageFormatError(f"{len(data)} bytes is too short for an MCUboot header")
    magic, load, hdr_size, prot_size, img_size, flags, major, minor, rev, build = (
        HEADER.unpack_from(data)
    )
    if magic != IMAGE_MAGIC:
        raise ImageFormatError(
            f"not an MCUboot image: header magic {magic:#010x}, expected {IMAGE_MAGIC:#010x} "
            "(sign the build with imgtool; a raw .bin or .elf is not enough)"
        )
    if hdr_size < HEADER.size or hdr_size + img_size > len(data):
        raise ImageFormatError(
            f"header size {hdr_size} + body size {img_size} do not fit the {len(data)}-byte file"
        )
    if flags & _UNSUPPORTED_FLAGS:
        raise ImageFormatError(
            f"encrypted or compressed images are not supported (flags {flags:#x})"
        )
    offset = hdr_size + img_size
    protected: list[tuple[int, bytes]] = []
    if prot_size:
        protected, total = _parse_tlv_area(data, offset, TLV_PROT_INFO_MAGIC, "protected TLV area")
        if total != prot_size:
            raise ImageFormatError(f"protected TLV area is {total} bytes, header says {prot_size}")
        offset += prot_size
    tlvs, total = _parse_tlv_area(data, offset, TLV_INFO_MAGIC, "TLV area")
    return McubootImage(
        data=bytes(data),
        load_addr=load,
        hdr_size=hdr_size,
        protect_tlv_size=prot_size,
        img_size=img_size,
        flags=flags,
        version=ImageVersion(major, minor, rev, build),
        protected_tlvs=tuple(protected),
        tlvs=tuple(tlvs),
        total_size=offset + total,
    )


def parse_version(text: str) -> ImageVersion:
    """``"1.2.3"`` or ``"1.2.3+4"`` (imgtool's ``--version`` syntax)."""
    core, _, build = text.strip().partition("+")
    parts = core.split(".")
    if (
        not 1 <= len(parts) <= 3
        or not all(p.isdigit() for p in parts)
        or (build and not build.isdigit())
    ):
        raise ValueError(f"not a version: {text!r} (use MAJOR.MINOR.REVISION[+BUILD])")
    nums = [int(p) for p in parts] + [0] * (3 - len(parts))
    return ImageVersion(nums[0], nums[1], nums[2], int(build or 0))


__all__ = [
    "BOARD_TLV",
    "HEADER",
    "IMAGE_MAGIC",
    "TLV_ENTRY",
    "TLV_INFO",
    "TLV_INFO_MAGIC",
    "TLV_PROT_INFO_MAGIC",
    "ImageFlag",
    "ImageFormatError",
    "ImageVersion",
    "McubootImage",
    "Tlv",
    "parse_image",
    "parse_version",
]
