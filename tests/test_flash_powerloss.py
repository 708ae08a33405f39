"""Power fails at 100 seeded random points of an update; the board always boots a valid,
signed image and can be updated again.

The bootloader, image manager and SMP server run in-process on simulated flash
(tests/flash_support/driver.py); the cut falls on any unit of flash work (one programmed byte
or one sector erase) of the upload, the test marking, the swap, the confirmation or the
revert. A third of the cases cut the power a second time during the recovery boot. The same
cuts through the real simulator process are in tests/test_flash_cli.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

pytest.importorskip("smp", reason="the flash extra (smp, cryptography) is not installed")
pytest.importorskip("imgtool", reason="imgtool (MCUboot's signing tool) is not installed")

from flash_support.driver import Board, SmpRefused
from flash_support.signing import KeyPair, app_image, make_key

from hw_sim.flash import PowerLoss
from hw_sim.swap import SwapType, write_trailer

pytestmark = pytest.mark.fast

CASES = 100
SEED = 20_240_606


@dataclass(frozen=True)
class Images:
    key: KeyPair
    v1: bytes
    v2: bytes
    v3: bytes


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    d = tmp_path_factory.mktemp("powerloss")
    key = make_key(d)
    return Images(key, *(app_image(d, key, v).read_bytes() for v in ("1.0.0", "1.1.0", "3.0.0")))


def new_board(images: Images) -> Board:
    return Board([images.key.public.read_bytes()], images.v1)


def update(board: Board, image: bytes, finish: str) -> None:
    """What ``glasses flash`` asks of the device, ending with a confirmation or a revert."""
    if board.bootloader.swap_type() is SwapType.REVERT:
        board.reset()  # an unconfirmed test image runs: let the bootloader restore the good one
    board.upload(image)
    board.mark_test(image)
    board.smp_reset()  # the test swap
    if finish == "confirm":
        board.confirm()
    board.reset()  # keeps a confirmed image, reverts an unconfirmed one


def measure(images: Images, finish: str) -> int:
    board = new_board(images)
    start = board.flash.power.units
    update(board, images.v2, finish)
    return board.flash.power.units - start


def power_on(board: Board, rng: random.Random, second_cut: bool) -> None:
    if second_cut:
        board.flash.power.arm(rng.randrange(0, 4000))
    try:
        board.reset()
    except PowerLoss:
        board.reset()  # the supply is back for good
    board.flash.power.disarm()


def check_boots_signed(board: Board, allowed: set[str]) -> None:
    assert board.booted is not None, "the board does not boot: bricked"
    assert board.running in allowed
    assert board.bootloader.rejection(board.booted.image) is None, "runs an unsigned image"
    assert board.flash.stats.dirty_writes == 0, "flash programmed without an erase"


def test_an_uninterrupted_update_confirms_or_reverts(images: Images) -> None:
    board = new_board(images)
    update(board, images.v2, "revert")
    assert board.running == "1.0.0"
    update(board, images.v2, "confirm")
    assert board.running == "1.1.0"
    assert [(s.slot, s.version, s.confirmed) for s in board.states()] == [
        (0, "1.1.0", True),
        (1, "1.0.0", False),
    ]


def run_case(images: Images, case: int, totals: dict[str, int]) -> tuple[str, bool]:
    """One cut; returns what ran after the recovery and whether a swap had to be resumed."""
    rng = random.Random(SEED * 1000 + case)
    finish = rng.choice(("confirm", "revert"))
    cut_at = rng.randrange(0, totals[finish])
    board = new_board(images)
    board.flash.power.arm(cut_at)
    try:
        update(board, images.v2, finish)
        cut = False
    except PowerLoss:
        cut = True
    board.flash.power.disarm()
    if cut:
        power_on(board, rng, second_cut=rng.random() < 1 / 3)
    check_boots_signed(board, {"1.0.0", "1.1.0"})
    assert board.booted is not None
    outcome = (board.running, board.booted.resumed)
    update(board, images.v3, "confirm")  # and the board takes the next update
    check_boots_signed(board, {"3.0.0"})
    assert [s.confirmed for s in board.states() if s.slot == 0] == [True]
    return outcome


def test_power_cuts_at_random_points_never_brick_the_board(images: Images) -> None:
    totals = {finish: measure(images, finish) for finish in ("confirm", "revert")}
    assert min(totals.values()) > 5_000, "the scenario should do real flash work"
    outcomes = [run_case(images, case, totals) for case in range(CASES)]
    # The points fall everywhere: some cuts leave the old image, some the new one, and some
    # land inside a swap, which the next boot finishes.
    assert {version for version, _ in outcomes} == {"1.0.0", "1.1.0"}
    assert sum(resumed for _, resumed in outcomes) >= 10


@pytest.mark.parametrize("cut_at", [0, 1, 2, 3, 40, 800, 2500])
def test_a_cut_early_in_the_upload_resumes_where_the_device_says(
    images: Images, cut_at: int
) -> None:
    board = new_board(images)
    board.flash.power.arm(cut_at)
    with pytest.raises(PowerLoss):
        board.upload(images.v2)
    board.reset()
    resumed_at = board.upload(images.v2)
    assert resumed_at <= max(cut_at, 700)  # never past what was really written
    board.mark_test(images.v2)
    board.smp_reset()
    assert board.running == "1.1.0"


def test_a_tampered_secondary_image_is_refused_by_the_bootloader(images: Images) -> None:
    board = new_board(images)
    bad = bytearray(images.v2)
    bad[200] ^= 0x01  # after the upload, before the test mark: the hash no longer matches
    board.upload(bytes(bad))
    with pytest.raises(SmpRefused):
        board.mark_test(bytes(bad))
    # Force the request past the image manager, as a buggy app could: the bootloader still checks.
    write_trailer(board.flash, 1, image_ok=False, copy_done=False)
    board.reset()
    assert board.running == "1.0.0"
    assert "does not match" in (board.bootloader.last_rejection or "")
