"""Keys and signed images made with imgtool (MCUboot's own tool), used as a library.

imgtool's CLI is exercised by tests/test_flash_cli.py through scripts/sign_firmware.sh; the
library is used elsewhere because it signs in milliseconds instead of a process start each.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from hw_sim.firmware import build_app

BOARD = "glasses-proto-640"  # the default simulator profile's board id


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    kind: str


def make_key(directory: Path, name: str = "key", kind: str = "ecdsa-p256") -> KeyPair:
    """A fresh key pair in PEM files, as ``imgtool keygen`` and ``imgtool getpub`` write."""
    from imgtool import keys

    generator = {"ecdsa-p256": keys.ECDSA256P1, "ed25519": keys.Ed25519}[kind]
    key = generator.generate()
    private, public = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    key.export_private(str(private))
    with io.StringIO() as out:
        key.emit_public_pem(file=out)
        public.write_text(out.getvalue())
    return KeyPair(private, public, kind)


def sign(
    body: bytes,
    key: KeyPair | None,
    version: str,
    out: Path,
    *,
    board: str | None = BOARD,
    slot_size: int = 64 * 1024,
) -> bytes:
    """``imgtool sign --key K --version V --header-size 32 --pad-header --slot-size S
    --custom-tlv 0xa0 BOARD body out``; ``key`` None makes a hash-only (unsigned) image."""
    from imgtool import image, keys
    from imgtool.version import decode_version

    body_path = out.with_suffix(".body")
    body_path.write_bytes(body)
    img = image.Image(
        version=decode_version(version), header_size=32, pad_header=True, slot_size=slot_size
    )
    img.load(str(body_path))
    loaded = keys.load(str(key.private)) if key is not None else None
    custom = {0xA0: board.encode("ascii")} if board else None
    with contextlib.redirect_stdout(io.StringIO()):  # imgtool prints what it signs
        img.create(loaded, "hash", None, custom_tlvs=custom)
    img.save(str(out))
    return out.read_bytes()


def app_image(
    directory: Path,
    key: KeyPair | None,
    version: str,
    *,
    behaviour: str = "ok",
    size_bytes: int = 3000,
    board: str | None = BOARD,
) -> Path:
    """A signed simulated app (hw_sim/firmware.py) of about ``size_bytes``."""
    seed = sum(map(ord, version + behaviour))
    out = directory / f"app-{version}-{behaviour}-{board}.img"
    sign(build_app(size_bytes, behaviour, seed), key, version, out, board=board)
    return out


__all__ = ["BOARD", "KeyPair", "app_image", "make_key", "sign"]
