"""Checks of the handshake and the session (docs/protocol.md §7): HELLO in any state, header
versions, version 0 = no session, and the NO_SESSION answers of a device without one."""

from __future__ import annotations

from firmware_bridge.conformance.context import Check, Context
from firmware_bridge.conformance.peer import CheckFailed, describe, encode_corrupt, is_nak
from firmware_bridge.protocol import (
    Blit,
    Hello,
    MsgType,
    Ping,
    Reason,
    SetBrightness,
    encode_payload,
)
from firmware_bridge.protocol.frame import Frame, FrameError


def handshake(ctx: Context) -> None:
    ack = ctx.session()  # fails unless a HELLO_ACK echoes the session_id
    problems = []
    if ack.version != 1:
        problems.append(f"version {ack.version} (the host offered 1..1)")
    if not ack.min_version <= 1 <= ack.max_version:
        problems.append(f"device range {ack.min_version}..{ack.max_version} without 1")
    if ack.bpp not in (1, 2, 4) or ack.width_px % (8 // max(ack.bpp, 1)):
        problems.append(f"{ack.width_px} px at {ack.bpp} bpp (bpp 1, 2 or 4; whole bytes/row)")
    if ack.max_payload < 64:
        problems.append(f"max_payload {ack.max_payload} < 64 (§3.6)")
    if not 1 <= ack.window <= 127:
        problems.append(f"window {ack.window} outside 1..127 (§8.1)")
    if problems:
        raise CheckFailed("a HELLO_ACK within the ranges of §5.2", "; ".join(problems), "5.2")


def hello_header_version(ctx: Context) -> None:
    ctx.session()
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS")
    payload = encode_payload(Hello(1, 1, 4096, 0x0BAD0BAD))
    ctx.refuse(
        MsgType.HELLO,
        payload,
        (Reason.UNSUPPORTED_VERSION,),
        "a HELLO with header version 2",
        sequenced=False,
        version=2,
    )
    # "Nothing else changes": the session and its numbering go on (the barrier checks ack=1).
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS after the refused HELLO")


def hello_bad_length(ctx: Context) -> None:
    ctx.session()
    payload = encode_payload(Hello(1, 1, 4096, 0x0BAD0BAD))[:7]
    ctx.refuse(MsgType.HELLO, payload, (Reason.BAD_LENGTH,), "a 7-byte HELLO", sequenced=False)
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS after the refused HELLO")


def hello_in_session(ctx: Context) -> None:
    ctx.session()
    ctx.accept(SetBrightness(200), "SET_BRIGHTNESS")
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS")
    ctx.session()  # a new session restarts numbering: seq 0 must be taken, not dropped
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS with seq 0 in the new session")


def no_common_version(ctx: Context) -> None:
    peer = ctx.peer
    ack = peer.hello(min_version=200, max_version=201)
    if ack.version != 0:
        raise CheckFailed(
            "HELLO_ACK version 0 for a HELLO offering only 200..201",
            f"version {ack.version}",
            "7.3",
        )
    # Now without session (§7.2): every valid frame but HELLO gets NAK(its seq, NO_SESSION),
    # whatever its header version; a rejected frame gets nothing.
    probes = [
        (Frame(MsgType.PING, 0, 0, encode_payload(Ping(1))), "PING"),
        (Frame(MsgType.BLIT, 7, 0, encode_payload(Blit(0, 0, 8, 1, 0, b"\0" * 4))), "BLIT seq 7"),
        (Frame(MsgType.PING, 0, 0, encode_payload(Ping(2)), version=2), "PING, header v2"),
    ]
    for frame, what in probes:
        if what == "PING, header v2":  # a corrupted frame first: it must be ignored
            peer.write(encode_corrupt(frame), "frame with a bad CRC (no answer without session)")
        peer.send(frame.type, frame.payload, seq=frame.seq, ack=0, version=frame.version)
        item = peer.next(ctx.options.reply_timeout_s) or FrameError("none", "nothing came")
        if not (is_nak(item, Reason.NO_SESSION, frame.seq) and getattr(item, "ack", 1) == 0):
            raise CheckFailed(
                f"NAK(ref_seq={frame.seq}, NO_SESSION) for {what} without session",
                describe(item),
                "7.2",
            )
    ctx.session()


def frame_version(ctx: Context) -> None:
    ctx.session()
    payload = encode_payload(SetBrightness(255))
    ctx.refuse(
        MsgType.SET_BRIGHTNESS,
        payload,
        (Reason.UNSUPPORTED_VERSION,),
        "SET_BRIGHTNESS with header version 2 in a v1 session",
        version=2,
    )
    # Its seq was not consumed (the barrier in accept() checks ack = 1 after this seq 0).
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS seq 0 after the refused frame")


CHECKS = (
    Check("handshake", "7.3", "HELLO answered by a HELLO_ACK echoing session_id", handshake),
    Check(
        "hello_header_version",
        "7.4",
        "HELLO with header version 2: ERROR UNSUPPORTED_VERSION, session kept",
        hello_header_version,
    ),
    Check(
        "hello_bad_length",
        "7.3",
        "HELLO of 7 bytes: ERROR BAD_LENGTH, session kept",
        hello_bad_length,
    ),
    Check(
        "hello_in_session", "7.1", "HELLO in a session starts a new one at seq 0", hello_in_session
    ),
    Check(
        "no_common_version",
        "7.2",
        "version 0 = no session; NAK NO_SESSION to everything",
        no_common_version,
    ),
    Check(
        "frame_version",
        "7.4",
        "frame with the wrong header version: ERROR, seq not consumed",
        frame_version,
    ),
)
