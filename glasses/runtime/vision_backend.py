"""LOOK's model, from the settings: which backend looks at the camera's pictures.

* ``llm.model`` is itself a vision-language model: it answers everything (nothing to add);
* ``look.model`` names one: it is loaded beside the text model and chats with pictures go to
  it (:class:`PictureRouter`), through the remote first when ``remote.images`` says the remote
  reads pictures;
* neither: LOOK reads the picture's text (OCR) and asks the text model; a note says so. With
  ``remote.images`` on, the remote looks while it is up; while it is down LOOK reads the
  picture's text instead (:class:`PictureTextFallback`), and each answer says so.
"""

from __future__ import annotations

from glasses.errors import GlassesError
from glasses.llm.backend import ChatBackend
from glasses.llm.picture_route import PictureRouter, accepts_images
from glasses.modes.look import VLM_HINT
from glasses.runtime.parts import Parts
from glasses.runtime.picture_text import PictureTextFallback
from glasses.settings import Settings


def add_vision(settings: Settings, parts: Parts) -> None:
    """Give ``parts.backend`` eyes where ``look.model`` names a vision-language model."""
    from glasses.llm.router import FallbackBackend

    vision = _vision_backend(settings, parts) if settings.look.model else None
    backend = parts.backend
    if vision is None:
        if backend is None or parts.camera is None:
            return
        if not accepts_images(backend):
            # Not a "no ..." note: the text model still answers LOOK, from the text read.
            parts.notes.append(f"LOOK reads the picture's text (no vision model): {VLM_HINT}")
        elif (
            isinstance(backend, FallbackBackend)
            and not accepts_images(backend.local)
            and parts.ocr is not None
        ):  # only the remote looks; while it is down, the text read stands in for the picture
            parts.backend = PictureTextFallback(backend, parts.ocr)
        return
    if backend is None:
        parts.backend = vision
        return
    if isinstance(backend, FallbackBackend) and accepts_images(backend.remote):
        vision = FallbackBackend(backend.remote, vision, backend.config)
    parts.backend = PictureRouter(backend, vision)


def _vision_backend(settings: Settings, parts: Parts) -> ChatBackend | None:
    try:
        from glasses.llm import EngineConfig, SessionConfig
        from glasses.llm.backend import LocalBackend
        from glasses.llm.vision import VisionConfig, VisionLlmEngine
        from glasses.models.manifest import pulled_variant
        from glasses.models.store import resolve_model_dir

        folder = resolve_model_dir(settings.look.model)
        config = EngineConfig(
            session=SessionConfig(
                intra_op_threads=settings.llm.threads, providers=settings.llm.providers
            ),
            variant=pulled_variant(folder),
            max_context_tokens=settings.llm.context_tokens,
        )
        vision = VisionConfig(max_pixels=settings.look.max_pixels)
        engine = VisionLlmEngine.load(folder, config, vision)
        parts.providers["vlm"] = engine.provider
        return LocalBackend(engine)
    except (GlassesError, ImportError) as exc:
        parts.notes.append(f"no vision model ({exc}), LOOK reads text instead: {VLM_HINT}")
        return None
