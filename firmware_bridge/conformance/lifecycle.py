"""Checks of reboots, events and the update handover (docs/protocol.md §7.2, §7.5, §8.4, §11):
RESET acknowledged before the reboot, the boot announcement, EVENT(BOOT) with its cause and
its retransmission, cleared buffers, and ENTER_BOOTLOADER either handed over or refused."""

from __future__ import annotations

import time
from typing import Final

from firmware_bridge.conformance.context import Check, Context
from firmware_bridge.conformance.peer import CheckFailed, Received, describe, is_nak, msg_of
from firmware_bridge.protocol import (
    EnterBootloader,
    Error,
    Event,
    EventKind,
    MsgType,
    Nak,
    Ping,
    Pong,
    Reason,
    Reset,
    encode_payload,
)

REBOOT_WAIT_S: Final = 2.0  # "about 100 ms" (§7.5), with room for a slow boot
MAX_RTO_S: Final = 4.0  # §8.4: a retransmission comes at the latest after the maximum RTO
GO_BACK_S: Final = 0.3  # well under the 500 ms initial RTO: a go-back, not a timeout
IDLE_TIMEOUT_S: Final = 1
BACKOFF_RATIO: Final = 1.3


def reboot(ctx: Context) -> None:
    """RESET: an ACK, then the announcement NAK(0, NO_SESSION)."""
    seq = ctx.peer.send_msg(Reset())
    frames = ctx.peer.until(
        lambda f: is_nak(f, Reason.NO_SESSION, 0) and f.ack == 0,  # type: ignore[union-attr]
        "the boot announcement NAK(0, NO_SESSION) after RESET (§7.2)",
        max(ctx.options.reply_timeout_s, REBOOT_WAIT_S),
    )
    if not any(getattr(f, "ack", 0) == seq + 1 and msg_of(f, Nak) is None for f in frames):
        raise CheckFailed(
            f"RESET acknowledged (ack={seq + 1}) before the reboot",
            "; ".join(describe(f) for f in frames),
            "7.5",
        )


def boot_event(ctx: Context, code: int) -> Received:
    """After HELLO, EVENT(BOOT) with ``code`` as the first sequenced frame (seq 0)."""
    ctx.session()
    frames = ctx.peer.until(
        lambda f: msg_of(f, Event) is not None,
        f"EVENT(BOOT, code={code}) seq 0 after the first HELLO_ACK",
    )
    event = msg_of(frames[-1], Event)
    if event is None or event.kind != EventKind.BOOT or event.code != code or frames[-1].seq:  # type: ignore[union-attr]
        raise CheckFailed(f"EVENT(BOOT, code={code}) seq 0", describe(frames[-1]), "7.3")
    return frames[-1]


def reset(ctx: Context) -> None:
    ctx.session()
    reboot(ctx)
    boot_event(ctx, 2)


def reset_buffers(ctx: Context) -> None:
    from firmware_bridge.conformance.display import clear, draw, pattern

    ctx.session()
    clear(ctx)
    draw(ctx, 0, 0, pattern(ctx, 8 * ctx.ppb, 8, 8))
    ctx.present_and_compare("the pattern before RESET", "9.4")
    reboot(ctx)
    boot_event(ctx, 2)
    ctx.model[:] = 0
    ctx.compare("the front buffer cleared by the reboot", "7.5")
    ctx.present_and_compare("the back buffer cleared by the reboot", "7.5")


def event_retransmit(ctx: Context) -> None:
    """EVENT(BOOT) left unacknowledged: resent at once on NAK, then after RTOs that grow."""
    ctx.session()
    reboot(ctx)
    ctx.peer.auto_ack = False
    boot_event(ctx, 2)
    ctx.peer.send(
        MsgType.NAK,
        encode_payload(Nak(0, Reason.OUT_OF_SEQUENCE)),
        ack=0,
        note="NAK(0, OUT_OF_SEQUENCE) ack=0",
    )
    wants = lambda f: getattr(msg_of(f, Event), "kind", None) == EventKind.BOOT  # noqa: E731
    ctx.peer.until(wants, "EVENT(BOOT) seq 0 resent at once on NAK (go back, §8.4)", GO_BACK_S)
    times = [time.monotonic()]
    for n in (1, 2):
        ctx.peer.until(
            wants, f"EVENT(BOOT) resent after RTO (retransmission {n}, §8.4)", MAX_RTO_S + 0.5
        )
        times.append(time.monotonic())
    first, second = times[1] - times[0], times[2] - times[1]
    if second < BACKOFF_RATIO * first:  # doubled; a lower bar absorbs scheduling jitter
        raise CheckFailed(
            "a retransmission timeout that backs off (doubles, §8.4)",
            f"timeouts of {first:.3f} s, then {second:.3f} s",
            "8.4",
        )
    ctx.peer.send(MsgType.ACK, ack=1, note="ACK ack=1")
    ctx.peer.auto_ack = True


def enter_bootloader(ctx: Context) -> None:
    ctx.session()
    bad = encode_payload(EnterBootloader(magic=0x12345678, idle_timeout_s=IDLE_TIMEOUT_S))
    ctx.refuse(
        MsgType.ENTER_BOOTLOADER,
        bad,
        (Reason.BAD_PAYLOAD, Reason.UNKNOWN_TYPE),
        "ENTER_BOOTLOADER with a wrong magic",
        "11.1",
    )
    seq = ctx.peer.send_msg(EnterBootloader(idle_timeout_s=IDLE_TIMEOUT_S))
    frames = ctx.peer.until(
        lambda f: getattr(f, "ack", 0) == seq + 1,
        "ENTER_BOOTLOADER acknowledged or refused (§11.2)",
    )
    for item in frames:
        err = msg_of(item, Error)
        if err is not None and err.ref_type == MsgType.ENTER_BOOTLOADER and err.ref_seq == seq:
            if err.reason != Reason.UNKNOWN_TYPE:
                raise CheckFailed(
                    "ERROR UNKNOWN_TYPE (no updates over the link) or the handover",
                    describe(item),
                    "11.1",
                )
            return  # no handover: refused as an unknown type, as §11 allows
    # Handed over: only SMP now, until the idle timeout resets the MCU (§11.2 step 5).
    ctx.peer.send_msg(Ping(1))
    start = time.monotonic()
    frames = ctx.peer.until(
        lambda f: is_nak(f, Reason.NO_SESSION, 0) or msg_of(f, Pong) is not None,
        "the boot announcement after the SMP idle timeout",
        IDLE_TIMEOUT_S + REBOOT_WAIT_S + 1,
    )
    if msg_of(frames[-1], Pong) is not None or time.monotonic() - start < IDLE_TIMEOUT_S * 0.5:
        raise CheckFailed(
            "only SMP after an acknowledged ENTER_BOOTLOADER, until a reset",
            describe(frames[-1]),
            "11.2",
        )
    boot_event(ctx, 1)


CHECKS = (
    Check("reset", "7.5", "RESET: ACK, reboot, announcement, EVENT(BOOT, 2)", reset),
    Check("reset_buffers", "7.5", "RESET clears both frame buffers", reset_buffers, True),
    Check(
        "event_retransmit", "8.4", "EVENT resent on NAK and after a growing RTO", event_retransmit
    ),
    Check(
        "enter_bootloader",
        "11",
        "ENTER_BOOTLOADER: magic checked; handover or ERROR UNKNOWN_TYPE",
        enter_bootloader,
    ),
)
