"""Checking an image's hash and signature against trusted public keys, as MCUboot does.

MCUboot recomputes the SHA-256 of header, body and protected TLVs, compares it with the hash
TLV, picks the key named by the KEYHASH (or PUBKEY) TLV among the keys it was built with, and
verifies the signature TLV over that hash. ECDSA P-256 and Ed25519 keys are supported, the
two imgtool recommends for small MCUs. ``cryptography`` comes with the ``flash`` extra.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from firmware_bridge.extras import require
from firmware_bridge.update.image import McubootImage, Tlv

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_SIG_TLVS: Final = {Tlv.ECDSA_SIG: "ecdsa-p256", Tlv.ED25519: "ed25519"}


class ImageRejected(ValueError):
    """The image must not be installed; the message says why and what to do."""


@dataclass(frozen=True)
class TrustedKey:
    """A public key firmware may be signed with; ``key_id`` is imgtool's KEYHASH of it."""

    kind: str  # "ecdsa-p256" or "ed25519"
    der: bytes  # SubjectPublicKeyInfo, the bytes imgtool hashes for KEYHASH
    source: str  # where it came from, for messages
    public: EllipticCurvePublicKey | Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.der).digest()

    @staticmethod
    def from_pem(pem: bytes, source: str) -> TrustedKey:
        """A key from PEM (public, or a private key whose public half is used)."""
        require("cryptography", "flash", purpose="checking firmware signatures")
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519

        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError:
            try:
                key = serialization.load_pem_private_key(pem, password=None).public_key()
            except (ValueError, TypeError) as exc:
                raise ImageRejected(f"{source} is not a PEM public key: {exc}") from None
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            return TrustedKey("ecdsa-p256", der, source, key)
        if isinstance(key, ed25519.Ed25519PublicKey):
            return TrustedKey("ed25519", der, source, key)
        raise ImageRejected(f"{source}: only ECDSA P-256 and Ed25519 keys are supported")

    @staticmethod
    def from_file(path: Path) -> TrustedKey:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ImageRejected(f"cannot read the public key {path}: {exc.strerror}") from None
        return TrustedKey.from_pem(pem, str(path))


def _pick_keys(image: McubootImage, keys: Sequence[TrustedKey]) -> list[TrustedKey]:
    key_hash, pub = image.tlv(Tlv.KEYHASH), image.tlv(Tlv.PUBKEY)
    if key_hash is not None:
        chosen = [k for k in keys if k.key_id == key_hash]
        named = f"a key with hash {key_hash[:8].hex()}…"
    elif pub is not None:
        chosen = [k for k in keys if k.der == pub]
        named = "the public key embedded in it"
    else:
        return list(keys)
    if not chosen:
        trusted = ", ".join(f"{k.source} ({k.key_id[:8].hex()}…)" for k in keys) or "none"
        raise ImageRejected(
            f"the image is signed with {named}, which is not a trusted key (trusted: {trusted}); "
            "sign it with the project's key or pass the right --key"
        )
    return chosen


def _verifies(key: TrustedKey, sig_kind: str, signature: bytes, digest: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    if sig_kind != key.kind:
        return False
    try:
        if isinstance(key.public, ec.EllipticCurvePublicKey):
            # Old imgtool pads DER signatures with zeros (--pad-sig): cut at the DER length.
            der = signature[: signature[1] + 2] if len(signature) > 2 else signature
            key.public.verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        else:
            key.public.verify(signature, digest)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_image(image: McubootImage, keys: Sequence[TrustedKey]) -> TrustedKey:
    """The trusted key that signed ``image``; ImageRejected says why none did."""
    stored = image.hash_tlv
    if stored is None:
        other = [t.name for t in (Tlv.SHA384, Tlv.SHA512) if image.tlv(t) is not None]
        what = f"only {other[0]}, which this bootloader does not use" if other else "none"
        raise ImageRejected(f"the image has no SHA-256 hash TLV ({what}): sign it with imgtool")
    digest = image.computed_hash()
    if digest != stored:
        raise ImageRejected(
            "the image hash does not match its contents: the file is damaged or was modified "
            "after signing (tampered); rebuild and sign it again"
        )
    if image.tlv(Tlv.SIG_PURE) is not None:
        raise ImageRejected("pure (whole-image) signatures are not supported: sign without --pure")
    found = [(kind, value) for t, kind in _SIG_TLVS.items() if (value := image.tlv(t)) is not None]
    if not found:
        raise ImageRejected(
            "the image is not signed (no signature TLV): sign it with "
            "imgtool sign --key KEY.pem (see docs/flashing.md)"
        )
    candidates = _pick_keys(image, keys)
    for key in candidates:
        if any(_verifies(key, kind, sig, digest) for kind, sig in found):
            return key
    names = ", ".join(k.source for k in candidates) or "no trusted key"
    raise ImageRejected(
        f"the signature does not verify with {names}: the image was signed by another key or "
        "tampered with; refusing it"
    )


__all__ = ["ImageRejected", "TrustedKey", "verify_image"]
