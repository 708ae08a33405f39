"""Errors about a model's files, shared by the model store, the ONNX readers and the engines.

They sit below :mod:`glasses.llm` so that :mod:`glasses.models` and :mod:`glasses.onnx_wire`
can raise them without importing the engine; :mod:`glasses.llm.errors` offers them too.
"""

from __future__ import annotations

from glasses.errors import GlassesError


class ModelError(GlassesError):
    """Base class of the errors about a model's files."""


class ModelFileError(ModelError):
    """A file of the model folder is missing, unreadable or truncated."""


class CorruptModelError(ModelError):
    """The ONNX file (or a config file) is not what it claims to be."""


class UnsupportedModelError(ModelError):
    """The model is valid but uses an architecture, I/O contract or operator we cannot run."""
