"""Errors of the LLM engine; all are :class:`glasses.errors.GlassesError` so the CLI prints them.

The errors about model files come from :mod:`glasses.model_errors` (the store and the ONNX
readers raise them too) and are offered here with the engine's own.
"""

from __future__ import annotations

from glasses.errors import GlassesError
from glasses.model_errors import CorruptModelError as CorruptModelError
from glasses.model_errors import ModelError as ModelError
from glasses.model_errors import ModelFileError as ModelFileError
from glasses.model_errors import UnsupportedModelError as UnsupportedModelError


class LlmError(GlassesError):
    """Base class of every LLM engine error."""


class TokenizerMismatchError(LlmError):
    """The tokenizer does not fit the model (more token ids than the model has logits for)."""


class ContextOverflowError(LlmError):
    """The prompt does not fit in the model's context window."""


class TextOnlyModelError(UnsupportedModelError):
    """A text-only model was given pictures (the runtime then reads their text instead)."""
