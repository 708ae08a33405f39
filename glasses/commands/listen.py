"""``glasses listen --file F | --mic [DEVICE]``: find speech (Silero VAD) and transcribe it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from glasses.errors import GlassesError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "listen",
        help="find speech in a recording or from a microphone; transcribe it with a model",
        description="Segment speech with Silero VAD and print each utterance with its times. "
        "With a speech model (--asr-model, $GLASSES_SENSEVOICE_DIR, or one pulled with "
        "glasses models pull: sensevoice, moonshine-tiny or zipformer-zh-en) each utterance "
        "is transcribed and its language named.",
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", type=Path, metavar="F", help="audio file (WAV, FLAC, OGG)")
    src.add_argument(
        "--mic",
        nargs="?",
        const="",
        metavar="DEVICE",
        help="microphone: index or name (see glasses devices); default input if omitted",
    )
    parser.add_argument(
        "--asr-model",
        metavar="DIR|NAME",
        help="sherpa-onnx model folder (SenseVoice, Moonshine or streaming zipformer), or a "
        "name from  glasses models list",
    )
    parser.add_argument("--realtime", action="store_true", help="play the file at real speed")
    parser.add_argument("--partials", action="store_true", help="also print partial transcripts")
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
    parser.add_argument("--threshold", type=float, default=0.5, help="speech probability (0.5)")
    parser.add_argument(
        "--min-silence", type=float, default=0.5, metavar="S", help="pause that ends speech (0.5)"
    )
    parser.add_argument(
        "--max-utterance", type=float, default=15.0, metavar="S", help="split longer speech (15)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from glasses.extras import ExtraImportError

    try:
        return _listen(args)
    except ExtraImportError as exc:  # not installed, or installed but failing to import
        raise GlassesError(str(exc)) from exc


def _listen(args: argparse.Namespace) -> int:
    from glasses.perception.asr import PULL_HINT, default_model_dir
    from glasses.perception.segmenter import SegmenterConfig
    from glasses.perception.speech import SpeechPipeline

    if not 0.0 < args.threshold < 1.0:
        raise GlassesError(f"--threshold must be between 0 and 1, got {args.threshold:g}")
    if args.min_silence <= 0 or args.max_utterance <= 1:
        raise GlassesError("--min-silence must be positive and --max-utterance above 1 s")
    if args.asr_model:
        from glasses.models.store import resolve_model_dir

        model_dir: Path | None = resolve_model_dir(args.asr_model)
    else:
        model_dir = default_model_dir()
    transcriber = _transcriber(model_dir) if model_dir is not None else None
    config = SegmenterConfig(
        threshold=args.threshold,
        min_silence_s=args.min_silence,
        max_utterance_s=args.max_utterance,
    )
    pipeline = SpeechPipeline(
        segmenter_config=config, transcriber=transcriber, partials=args.partials
    )
    source = _source(args)
    if transcriber is None:
        print(
            f"glasses: no speech model, so segments only; for transcripts run  {PULL_HINT}  "
            "and pass --asr-model DIR",
            file=sys.stderr,
        )
    count = 0
    with source:
        try:
            for event in pipeline.run(source.chunks()):
                count += _print_event(event, args.json, transcriber is not None)
        except KeyboardInterrupt:  # Ctrl-C ends a microphone session normally
            for event in pipeline.flush():
                count += _print_event(event, args.json, transcriber is not None)
        stats = source.stats()
    if stats.dropped_samples:
        print(
            f"glasses: lost {stats.dropped_samples / 16000:.2f} s of audio in "
            f"{stats.overflows} overflows (system too busy?)",
            file=sys.stderr,
        )
    if count == 0 and not args.json:
        print("glasses: no speech found", file=sys.stderr)
    return 0


def _transcriber(model_dir: Path) -> Any:
    from glasses.perception.asr import RecognizerConfig, load_recognizer
    from glasses.perception.transcriber import transcriber_for

    return transcriber_for(load_recognizer(RecognizerConfig(model_dir)))


def _source(args: argparse.Namespace) -> Any:
    if args.file is not None:
        from glasses.sources.audio_file import FileAudioSource

        return FileAudioSource(args.file, realtime=args.realtime)
    from glasses.sources.microphone import MicrophoneConfig, MicrophoneSource

    device: int | str | None = args.mic or None
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    return MicrophoneSource(MicrophoneConfig(device=device))


def _print_event(event: Any, as_json: bool, transcribing: bool) -> int:
    """Print one event; returns 1 for each finished utterance."""
    from glasses.perception.segmenter import SpeechEnded, SpeechStarted
    from glasses.perception.transcriber import Transcript

    if isinstance(event, SpeechStarted):
        if as_json:
            _emit({"event": "start", "start_s": round(event.start_s, 3)})
        return 0
    if isinstance(event, SpeechEnded):
        if as_json:
            _emit(
                {
                    "event": "segment",
                    "start_s": round(event.start_s, 3),
                    "end_s": round(event.end_s, 3),
                    "reason": event.reason,
                }
            )
        elif not transcribing:
            print(f"{event.start_s:7.2f} – {event.end_s:7.2f} s  speech")
        return 1
    if isinstance(event, Transcript):
        if as_json:
            kind = "final" if event.is_final else "partial"
            _emit(
                {
                    "event": kind,
                    "start_s": round(event.start_s, 3),
                    "end_s": round(event.end_s, 3),
                    "language": event.language,
                    "text": event.text,
                    "stable": event.stable,
                }
            )
        elif event.is_final:
            print(f"{event.start_s:7.2f} – {event.end_s:7.2f} s  [{event.language}] {event.text}")
        else:
            print(f"  … [{event.language}] {event.stable}|{event.tentative}", file=sys.stderr)
    return 0


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)
