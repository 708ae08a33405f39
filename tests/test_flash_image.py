"""The MCUboot image checks ``glasses flash`` runs before sending anything, on images signed by
imgtool with keys generated here (ECDSA P-256 and Ed25519)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="the flash extra (cryptography) is not installed")
pytest.importorskip("imgtool", reason="imgtool (MCUboot's signing tool) is not installed")

from flash_support.signing import BOARD, KeyPair, app_image, make_key

from firmware_bridge.update.image import (
    BOARD_TLV,
    ImageFormatError,
    ImageVersion,
    Tlv,
    parse_image,
    parse_version,
)
from firmware_bridge.update.signature import TrustedKey
from glasses.cli import main
from glasses.flashing.preflight import (
    KEY_ENV,
    FlashRefused,
    check_image,
    check_target,
    default_key_paths,
    load_keys,
)
from hw_sim.firmware import build_app, build_image

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module", params=["ecdsa-p256", "ed25519"])
def key(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key(tmp_path_factory.mktemp("keys"), kind=str(request.param))


def test_an_imgtool_image_parses_with_board_version_hash_and_signature(
    key: KeyPair, tmp_path: Path
) -> None:
    image = parse_image(app_image(tmp_path, key, "2.5.7+9").read_bytes())
    assert image.version == ImageVersion(2, 5, 7, 9) and str(image.version) == "2.5.7+9"
    assert image.board == BOARD and image.hash_tlv == image.computed_hash()
    assert image.tlv(Tlv.KEYHASH) == TrustedKey.from_file(key.public).key_id
    assert image.tlv(Tlv.ED25519 if key.kind == "ed25519" else Tlv.ECDSA_SIG)
    assert image.total_size == len(image.data)


def test_check_image_accepts_a_good_image_and_names_the_key(key: KeyPair, tmp_path: Path) -> None:
    checked = check_image(app_image(tmp_path, key, "1.0.0"), load_keys([key.public]))
    assert checked.board == BOARD and checked.key.source == str(key.public)
    assert checked.key.kind == key.kind


def test_a_key_from_another_family_is_refused_clearly(key: KeyPair, tmp_path: Path) -> None:
    other = make_key(tmp_path, "other", "ed25519" if key.kind == "ecdsa-p256" else "ecdsa-p256")
    with pytest.raises(FlashRefused, match="not a trusted key"):
        check_image(app_image(tmp_path, key, "1.0.0"), load_keys([other.public]))


def test_a_signature_moved_to_another_image_does_not_verify(key: KeyPair, tmp_path: Path) -> None:
    a = parse_image(app_image(tmp_path, key, "1.0.0").read_bytes())
    b = app_image(tmp_path, key, "1.0.1")
    sig_type = Tlv.ED25519 if key.kind == "ed25519" else Tlv.ECDSA_SIG
    data = bytearray(b.read_bytes())
    sig_b, sig_a = parse_image(bytes(data)).tlv(sig_type), a.tlv(sig_type)
    assert sig_a is not None and sig_b is not None
    at = bytes(data).rindex(sig_b)
    data[at : at + len(sig_b)] = sig_a[: len(sig_b)].ljust(len(sig_b), b"\0")
    b.write_bytes(bytes(data))
    with pytest.raises(FlashRefused, match="does not verify"):
        check_image(b, load_keys([key.public]))


@pytest.mark.parametrize(
    ("cut", "message"),
    [(10, "too short"), (40, "do not fit"), (-5, "shorter")],
)
def test_truncated_images_are_refused(key: KeyPair, tmp_path: Path, cut: int, message: str) -> None:
    data = app_image(tmp_path, key, "1.0.0").read_bytes()
    with pytest.raises(ImageFormatError, match=message):
        parse_image(data[:cut])


def test_the_simulators_factory_builder_writes_the_same_format() -> None:
    image = parse_image(build_image(build_app(100), ImageVersion(0, 3, 0), "x"))
    assert image.board == "x" and image.hash_tlv == image.computed_hash()
    assert image.protected_tlvs[0][0] == BOARD_TLV and image.body == build_app(100)


def test_target_checks(key: KeyPair, tmp_path: Path) -> None:
    checked = check_image(app_image(tmp_path, key, "1.2.0"), load_keys([key.public]))
    check_target(checked, BOARD, (1, 2, 0), allow_downgrade=False)  # same version: allowed
    check_target(checked, BOARD, (1, 3, 0), allow_downgrade=True)
    with pytest.raises(FlashRefused, match=r"older than the running 1\.3\.0.*--allow-downgrade"):
        check_target(checked, BOARD, (1, 3, 0), allow_downgrade=False)
    with pytest.raises(FlashRefused, match="built for board 'glasses-proto-640'"):
        check_target(checked, "ssd1306-128x64", (0, 0, 1), allow_downgrade=True)


def test_keys_come_from_the_environment_or_the_config_dir(
    key: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, str(key.public))
    assert default_key_paths() == [key.public]
    monkeypatch.delenv(KEY_ENV)
    keys_dir = tmp_path / "cfg" / "glasses" / "firmware-keys"
    keys_dir.mkdir(parents=True)
    (keys_dir / "team.pem").write_bytes(key.public.read_bytes())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_key_paths() == [keys_dir / "team.pem"]
    with pytest.raises(FlashRefused, match="no trusted firmware key"):
        load_keys([])
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(FlashRefused, match="not a PEM public key"):
        load_keys([bad])


def test_versions_parse_like_imgtool() -> None:
    assert parse_version("1.2.3+4") == ImageVersion(1, 2, 3, 4)
    assert parse_version("2") == ImageVersion(2, 0, 0)
    with pytest.raises(ValueError, match="not a version"):
        parse_version("1.x")


def test_the_cli_needs_an_image_or_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flash", "--port", "/dev/null-glasses"]) == 2
    assert "give the firmware IMAGE" in capsys.readouterr().err
    assert main(["flash", "x.img", "--port", "socket://127.0.0.1:7000"]) == 2
    assert "needs a serial device or pty path" in capsys.readouterr().err
