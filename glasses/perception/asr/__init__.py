"""Speech recognition through sherpa-onnx: SenseVoice (default), Moonshine, streaming zipformer.

:func:`load_recognizer` looks at a model folder and opens the matching recogniser.
"""

from glasses.onnx_wire.metadata import graph_io, onnx_metadata
from glasses.perception.asr.folders import PULL_HINT, AsrFolder, AsrKind, inspect_folder
from glasses.perception.asr.loading import (
    DEFAULT_MODELS,
    MODEL_ENV,
    default_model_dir,
    load_recognizer,
)
from glasses.perception.asr.moonshine import MoonshineRecognizer
from glasses.perception.asr.recognition import (
    Recognition,
    Recognizer,
    RecognizerConfig,
    RecognizerStream,
    StreamingRecognizer,
    language_of,
)
from glasses.perception.asr.sensevoice import (
    CMVN_VECTORS,
    METADATA_INTS,
    SENSEVOICE_INTS,
    SenseVoiceRecognizer,
    check_sensevoice_files,
    parse_language,
)
from glasses.perception.asr.transducer import StreamingTransducerRecognizer

__all__ = [
    "CMVN_VECTORS",
    "DEFAULT_MODELS",
    "METADATA_INTS",
    "MODEL_ENV",
    "PULL_HINT",
    "SENSEVOICE_INTS",
    "AsrFolder",
    "AsrKind",
    "MoonshineRecognizer",
    "Recognition",
    "Recognizer",
    "RecognizerConfig",
    "RecognizerStream",
    "SenseVoiceRecognizer",
    "StreamingRecognizer",
    "StreamingTransducerRecognizer",
    "check_sensevoice_files",
    "default_model_dir",
    "graph_io",
    "inspect_folder",
    "language_of",
    "load_recognizer",
    "onnx_metadata",
    "parse_language",
]
