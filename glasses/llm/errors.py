"""Errors of the LLM engine; all are :class:`glasses.errors.GlassesError` so the CLI prints them."""

from __future__ import annotations

from glasses.errors import GlassesError


class LlmError(GlassesError):
    """Base class of every LLM engine error."""


class ModelFileError(LlmError):
    """A file of the model folder is missing, unreadable or truncated."""


class CorruptModelError(LlmError):
    """The ONNX file (or a config file) is not what it claims to be."""


class UnsupportedModelError(LlmError):
    """The model is valid but uses an architecture, I/O contract or operator we cannot run."""


class TokenizerMismatchError(LlmError):
    """The tokenizer does not fit the model (more token ids than the model has logits for)."""


class ContextOverflowError(LlmError):
    """The prompt does not fit in the model's context window."""
