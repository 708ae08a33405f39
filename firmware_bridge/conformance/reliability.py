"""Checks of the go-back-N rules and message errors (docs/protocol.md §5, §8): a full window
at line rate, duplicates re-acknowledged, one NAK per gap, payload errors consuming their
seq, unknown types, no ERROR for an ERROR or NAK, and PING/PONG."""

from __future__ import annotations

from firmware_bridge.conformance.context import Check, Context
from firmware_bridge.conformance.peer import CheckFailed, is_nak, msg_of, summary
from firmware_bridge.protocol import (
    Blit,
    Clear,
    Encoding,
    Error,
    Event,
    EventKind,
    MsgType,
    Nak,
    Ping,
    Pong,
    Reason,
    SetBrightness,
    encode_payload,
)


def window(ctx: Context) -> None:
    """``window`` BLITs of (nearly) max_payload bytes back to back, none lost."""
    ctx.session()
    dev = ctx.dev
    row_bytes = min(dev.width_px * dev.bpp // 8, dev.max_payload - 9)
    rows = min(dev.height_px, (dev.max_payload - 9) // row_bytes)
    data = bytes(row_bytes * rows)
    for _ in range(dev.window):
        ctx.peer.send_msg(Blit(0, 0, row_bytes * ctx.ppb, rows, Encoding.RAW, data))
    frames = ctx.settle(f"all {dev.window} frames of the window", "8.1")
    ctx.no_answer(
        frames,
        (MsgType.NAK, MsgType.ERROR),
        f"{dev.window} frames of {9 + len(data)} bytes received without loss (§8.1)",
    )


def duplicate(ctx: Context) -> None:
    ctx.session()
    payload = encode_payload(SetBrightness(255))
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS seq 0")
    ctx.peer.send(MsgType.SET_BRIGHTNESS, payload, seq=0, note="SET_BRIGHTNESS seq 0 again")
    ctx.peer.until(
        lambda f: getattr(f, "ack", None) == 1 and msg_of(f, Nak) is None,
        "ack=1 re-acknowledging the duplicate (an ACK is due, §8.3)",
    )
    ctx.settle()  # not consumed a second time: ack stays 1


def out_of_sequence(ctx: Context) -> None:
    ctx.session()
    peer = ctx.peer
    payload = encode_payload(SetBrightness(255))
    peer.send(MsgType.SET_BRIGHTNESS, payload, seq=1, note="SET_BRIGHTNESS seq 1 (gap)")
    peer.until(lambda f: is_nak(f, Reason.OUT_OF_SEQUENCE, 0), "NAK(ref_seq=0, OUT_OF_SEQUENCE)")
    peer.send(MsgType.SET_BRIGHTNESS, payload, seq=2, note="SET_BRIGHTNESS seq 2 (same gap)")
    frames = ctx.settle()  # neither gap frame consumed: ack 0
    ctx.no_answer(frames, (MsgType.NAK,), "one NAK per expected number: none for seq 2")
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS seq 0")
    peer.send(MsgType.SET_BRIGHTNESS, payload, seq=5, note="SET_BRIGHTNESS seq 5 (new gap)")
    peer.until(
        lambda f: is_nak(f, Reason.OUT_OF_SEQUENCE, 1),
        "NAK(ref_seq=1, OUT_OF_SEQUENCE): the budget renews as rx_expected advances",
    )


def payload_errors(ctx: Context) -> None:
    ctx.session()
    level = 1 << ctx.dev.bpp
    ctx.refuse(
        MsgType.CLEAR,
        encode_payload(Clear(level)),
        (Reason.BAD_PAYLOAD, Reason.BAD_LENGTH),
        f"CLEAR level {level} at {ctx.dev.bpp} bpp",
        "9.4",
    )
    ctx.refuse(
        MsgType.SET_BRIGHTNESS,
        b"\x10\x20",
        (Reason.BAD_LENGTH,),
        "SET_BRIGHTNESS of 2 bytes",
        "5.3",
    )
    ctx.refuse(MsgType.PRESENT, b"\x01\x00\x00", (Reason.BAD_LENGTH,), "PRESENT of 3 bytes", "5.3")
    ctx.refuse(MsgType.SLEEP, b"\x00", (Reason.BAD_LENGTH,), "SLEEP of 1 byte", "5.3")
    ctx.refuse(MsgType.RESET, b"\x00", (Reason.BAD_LENGTH,), "RESET of 1 byte (no reboot)", "5.3")
    ctx.refuse(
        MsgType.PING,
        b"\x01\x02\x03",
        (Reason.BAD_LENGTH,),
        "PING of 3 bytes",
        "5.3",
        sequenced=False,
    )
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS after the refused frames")


def unknown_types(ctx: Context) -> None:
    ctx.session()
    ctx.refuse(
        0x7E,
        b"",
        (Reason.UNKNOWN_TYPE,),
        "unknown type 0x7E (seq not consumed)",
        "5.1",
        sequenced=False,
    )
    event = encode_payload(Event(EventKind.BUTTON, 0, 1, 0))
    ctx.refuse(
        MsgType.EVENT,
        event,
        (Reason.UNKNOWN_TYPE,),
        "an EVENT sent to the device (seq consumed)",
        "5.1",
    )
    ctx.peer.send(MsgType.PONG, encode_payload(Pong(7)), note="PONG sent to the device")
    frames = ctx.settle()
    ctx.no_answer(frames, (MsgType.ERROR, MsgType.NAK), "an unsequenced PONG ignored (§5.1)")


def no_error_loops(ctx: Context) -> None:
    ctx.session()
    peer = ctx.peer
    peer.send_msg(Error(3, MsgType.LOG, Reason.BAD_LENGTH, "conformance"))
    peer.send(MsgType.ERROR, b"\x03", note="ERROR of 1 byte (malformed)")
    peer.send_msg(Nak(0, 99))  # an unknown reason code is logged, not answered
    peer.send(MsgType.NAK, b"\x00", note="NAK of 1 byte (malformed)")
    frames = ctx.settle()
    ctx.no_answer(frames, (MsgType.ERROR,), "no ERROR in answer to an ERROR or NAK (§5.2)")


def ping(ctx: Context) -> None:
    ctx.session()
    tokens = (0, 0xDEADBEEF, 0xFFFFFFFF)
    for token in tokens:
        ctx.peer.send_msg(Ping(token))
    got: list[int] = []
    seen = []
    while len(got) < len(tokens):
        seen += ctx.peer.until(lambda f: msg_of(f, Pong) is not None, "PONG")
        pong = msg_of(seen[-1], Pong)
        assert pong is not None
        got.append(pong.token)
    if got != list(tokens):
        raise CheckFailed(f"PONGs with tokens {list(tokens)} in order", summary(seen), "8.5")


CHECKS = (
    Check("window", "8.1", "a full window of max-size frames at line rate", window),
    Check("duplicate", "8.3", "duplicate frame dropped and re-acknowledged", duplicate),
    Check(
        "out_of_sequence",
        "8.3",
        "gap: one NAK OUT_OF_SEQUENCE per expected number",
        out_of_sequence,
    ),
    Check(
        "payload_errors",
        "5.3",
        "bad payloads: ERROR, seq consumed and acknowledged",
        payload_errors,
    ),
    Check("unknown_types", "5.1", "unknown type and wrong-direction types", unknown_types),
    Check("no_error_loops", "5.2", "ERROR and NAK are never answered with ERROR", no_error_loops),
    Check("ping", "8.5", "PING answered at once by PONG with the same token", ping),
)
