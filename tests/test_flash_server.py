"""The simulated SMP server's image management rules, in-process (tests/flash_support/driver.py):
what it refuses and why, permanent swaps, resumption and offsets."""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("smp", reason="the flash extra (smp, cryptography) is not installed")
pytest.importorskip("imgtool", reason="imgtool (MCUboot's signing tool) is not installed")

from flash_support.driver import Board, SmpRefused
from flash_support.signing import KeyPair, app_image, make_key
from smp import image_management as smpimg
from smp import os_management as smpos
from smp.error import MGMT_ERR
from smp.image_management import IMG_MGMT_ERR

from firmware_bridge.update.image import parse_image

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyPair, bytes, bytes]:
    d = tmp_path_factory.mktemp("server")
    key = make_key(d)
    return key, app_image(d, key, "1.0.0").read_bytes(), app_image(d, key, "2.0.0").read_bytes()


def board(kit: tuple[KeyPair, bytes, bytes]) -> Board:
    return Board([kit[0].public.read_bytes()], kit[1])


def group_rc(exc: pytest.ExceptionInfo[SmpRefused]) -> int:
    body = exc.value.body
    return int(body["err"]["rc"]) if "err" in body else int(body["rc"])


def test_os_requests(kit: tuple[KeyPair, bytes, bytes]) -> None:
    b = board(kit)
    params = b.request(smpos.MCUMgrParametersReadRequest(), smpos.MCUMgrParametersReadResponse)
    assert params.buf_size == 1024
    info = b.request(
        smpos.OSApplicationInfoReadRequest(format="i"), smpos.OSApplicationInfoReadResponse
    )
    assert info.output == "glasses-proto-640"
    with pytest.raises(SmpRefused) as exc:
        b.request(smpos.DateTimeReadRequest(), smpos.DateTimeReadResponse)
    assert group_rc(exc) == MGMT_ERR.ENOTSUP


def test_a_test_image_must_be_confirmed_or_reverted_before_the_next_upload(
    kit: tuple[KeyPair, bytes, bytes],
) -> None:
    b = board(kit)
    b.upload(kit[2])
    b.mark_test(kit[2])
    b.smp_reset()
    assert b.running == "2.0.0" and [s.confirmed for s in b.states()] == [False, True]
    with pytest.raises(SmpRefused) as exc:
        b.upload(kit[1])  # slot 1 holds the image to revert to
    assert group_rc(exc) == IMG_MGMT_ERR.NO_FREE_SLOT
    with pytest.raises(SmpRefused) as exc:
        b.request(smpimg.ImageEraseRequest(), smpimg.ImageEraseResponse)
    assert group_rc(exc) == MGMT_ERR.EBADSTATE
    b.confirm()
    b.reset()
    assert b.running == "2.0.0"
    b.request(smpimg.ImageEraseRequest(), smpimg.ImageEraseResponse)
    assert [s.slot for s in b.states()] == [0]


def test_state_write_refusals(kit: tuple[KeyPair, bytes, bytes]) -> None:
    b = board(kit)
    running = parse_image(kit[1]).hash_tlv
    cases = [
        (
            smpimg.ImageStatesWriteRequest(hash=running, confirm=False),
            IMG_MGMT_ERR.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED,
        ),
        (
            smpimg.ImageStatesWriteRequest(hash=b"\1" * 32, confirm=False),
            IMG_MGMT_ERR.HASH_NOT_FOUND,
        ),
        (smpimg.ImageStatesWriteRequest(confirm=False), MGMT_ERR.EINVAL),
    ]
    for request, rc in cases:
        with pytest.raises(SmpRefused) as exc:
            b.request(request, smpimg.ImageStatesWriteResponse)
        assert group_rc(exc) == rc
    b.confirm()  # confirming what runs is always fine


def test_a_permanent_swap_needs_no_confirmation(kit: tuple[KeyPair, bytes, bytes]) -> None:
    b = board(kit)
    b.upload(kit[2])
    b.request(
        smpimg.ImageStatesWriteRequest(hash=parse_image(kit[2]).hash_tlv, confirm=True),
        smpimg.ImageStatesWriteResponse,
    )
    assert [s.permanent for s in b.states()] == [False, True]
    b.smp_reset()
    b.reset()
    assert b.running == "2.0.0"


def test_upload_offsets_upgrade_flag_and_image_number(kit: tuple[KeyPair, bytes, bytes]) -> None:
    b = board(kit)
    image, sha = kit[2], hashlib.sha256(kit[2]).digest()
    first = smpimg.ImageUploadWriteRequest(off=0, data=image[:500], len=len(image), sha=sha)
    assert b.request(first, smpimg.ImageUploadWriteResponse).off == 500
    skipped = smpimg.ImageUploadWriteRequest(off=900, data=image[900:1000])
    assert b.request(skipped, smpimg.ImageUploadWriteResponse).off == 500  # "continue at 500"
    older = smpimg.ImageUploadWriteRequest(off=0, data=kit[1][:500], len=len(kit[1]), upgrade=True)
    with pytest.raises(SmpRefused) as exc:
        b.request(older, smpimg.ImageUploadWriteResponse)
    assert group_rc(exc) == IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER
    other = smpimg.ImageUploadWriteRequest(off=0, data=b"x", len=1, image=1)
    with pytest.raises(SmpRefused) as exc:
        b.request(other, smpimg.ImageUploadWriteResponse)
    assert group_rc(exc) == IMG_MGMT_ERR.INVALID_SLOT
    b.reset()
    assert b.upload(image) == 500  # the same SHA-256 after a reset: resumed from the log


def test_refusals_decode_as_smpclient_sees_them(kit: tuple[KeyPair, bytes, bytes]) -> None:
    from glasses.flashing.smp_session import describe_error

    b = board(kit)
    b.upload(kit[2])
    b.mark_test(kit[2])
    b.smp_reset()
    request = smpimg.ImageUploadWriteRequest(off=0, data=b"x", len=1)
    group_error = smpimg.ImageManagementErrorV2.loads(b.server.handle(request.BYTES))
    assert describe_error(group_error) == "NO_FREE_SLOT (group 1)"
    generic = smpimg.ImageManagementErrorV1.loads(b.server.handle(smpimg.ImageEraseRequest().BYTES))
    assert describe_error(generic).startswith("EBADSTATE: slot 1 is pending")
