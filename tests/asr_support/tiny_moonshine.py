"""A tiny random-weight Moonshine (v1) model folder that sherpa-onnx loads like the real one.

The contract is sherpa-onnx's (``sherpa-onnx/csrc/offline-moonshine-model.cc``,
``offline-moonshine-greedy-search-decoder.cc``, ``offline-recognizer-moonshine-impl.h``,
``symbol-table.cc``, ``scripts/moonshine/export-onnx.py`` and ``test.py``) for the folder it
publishes as ``sherpa-onnx-moonshine-tiny-en-int8``: Useful Sensors' four ONNX graphs
(``moonshine/tools/convert_to_onnx.py``: Keras through tf2onnx, unnamed input signatures, so the
inputs are called ``args_0``, ``args_1``...), the three big ones dynamically quantised
(``export-onnx.py``: QInt8 weights; here only MatMul weights are), plus ``tokens.txt``.
sherpa feeds and reads every graph **by position** and reads no metadata:

* ``preprocess.onnx`` (float in both folders): ``args_0`` float32 ``[batch, num_samples]``
  (16 kHz, -1..1) -> ``audio_features`` float32 ``[batch, T, DIM]``.  A Conv1d stack like the
  real one (kernel 127 stride 64, tanh, group norm, kernel 7 stride 3, gelu, kernel 3 stride 2,
  gelu), so ``T = ((floor((N - 127) / 64) + 1 - 7) // 3 + 1 - 3) // 2 + 1``, about one frame
  per ``SAMPLE_STRIDE`` = 384 samples; audio shorter than 895 samples has no frame and
  onnxruntime refuses it (sherpa logs that and returns empty text, as with the real model).
* ``encode[.int8].onnx``: ``args_0`` the features, ``args_1`` int32 ``[1]`` (sherpa passes
  ``T``) -> ``last_hidden_state`` float32 ``[batch, T, DIM]``; frames at or past ``args_1``
  are zeroed.
* ``uncached_decode[.int8].onnx``: ``args_0`` int32 ``[batch, num_tokens]`` (sherpa: ``[[1]]``,
  ``<s>``), ``args_1`` the encoder output, ``args_2`` int32 ``[1]`` (``seq_len``: tokens so
  far including this one, 1) -> ``logits`` float32 ``[batch, num_tokens, VOCAB_SIZE]`` then, for
  each decoder layer ``i`` in turn, ``cache_k_i``, ``cache_v_i`` (self-attention,
  ``[batch, num_tokens, HEADS, HEAD_DIM]``) and ``x_attn_cache_k_i``, ``x_attn_cache_v_i``
  (cross-attention, ``[batch, T, HEADS, HEAD_DIM]``).
* ``cached_decode[.int8].onnx``: ``args_0`` the last emitted token ``[batch, 1]``, ``args_1``
  the encoder output (unused, as in the real graph: cross-attention reads the caches),
  ``args_2`` ``seq_len`` (2, 3, ...), then ``args_3`` ... the ``4 * DECODER_LAYERS`` caches in
  the order above -> ``logits`` and the next caches in the same order: the self-attention ones
  one position longer (this token's key/value appended), the cross-attention ones passed on.
* ``tokens.txt``: ``piece<TAB>id`` per line (``export-onnx.py`` writes the tokenizer's pieces
  stripped, a tab, the id), plain UTF-8, not base64 (sherpa base64-decodes tokens only for
  other model kinds); ``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, then ``▁``-words and suffix pieces.
  sherpa's symbol table turns a piece's leading ``▁`` into a space (``result.tokens`` holds
  ``" hello"``, ``"s"``...) and the recognizer concatenates them; the sherpa-onnx 1.13 source
  keeps the leading space (``" hello there"``), the installed 2.0.1 drops it (``"hello
  there"``), so compare texts stripped (moonshine's own ``test.py`` and glasses strip).
* sherpa's greedy search: ``<s>`` = 1 first, argmax each step, stop at ``</s>`` = 2 or after
  ``int(T * 384 / 16000 * 6)`` tokens.  The output names (``audio_features``,
  ``last_hidden_state``, ``logits``, ``cache_k_0``...) are the names moonshine's ``model.py``
  gives those tensors; the published graphs' own output names come from Keras layer names
  and were not checked, but nothing reads them (sherpa and moonshine's ``onnx_model.py`` take
  outputs by position).

Scaled down: ``DIM`` 32, 2 decoder layers of 4 heads of 8 (the real tiny model: 288, 6 layers,
8 heads of 36, vocabulary 32768).  The weights are random, with a few deliberate properties so
tests can tell a correctly driven model from one that merely produced something:

* the last feature channel is the frame's loudness (dB of the mean square of the samples it
  covers), which the encoder turns into a loud / quiet flag (``LOUD_DB``);
* the decoder aligns token ``seq_len`` with the ``seq_len``-th run of ``FRAMES_PER_TOKEN`` loud
  frames (cross-attention whose scores come from the cumulative loud-frame count held in the
  key cache), and its logit for ``</s>`` is large once ``seq_len`` exceeds
  :func:`pieces_for` (loud frames / ``FRAMES_PER_TOKEN``, rounded): digital silence gives
  ``</s>`` at once (empty text), sound gives about one piece per 0.36 s of loud audio, under
  half of sherpa's ``max_len`` (which only binds for audio under 0.35 s);
* the pieces follow from the audio (random projections of the frames a token attends to, the
  values centred on the mean frame of a few synthetic sounds so that what sounds share does
  not pick the piece) and from the previous token (no immediate repeats, no suffix at the
  start or after a suffix);
* the cached decoder reads every cache it is given: the cross-attention alignment and values
  come from the ``x_attn`` caches of its layer, self-attention from the grown self caches, so
  caches in the wrong order (or missing) change or break decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from asr_support.onnx_build import GraphBuilder, quantize_int8

if TYPE_CHECKING:
    import onnx

SAMPLE_RATE = 16_000
SAMPLE_STRIDE = 384  # audio samples per encoder frame: 64 * 3 * 2
CONV_KERNELS = (127, 7, 3)
CONV_STRIDES = (64, 3, 2)
DIM = 32  # feature / encoder width; the last channel carries loudness
HEADS = 4
HEAD_DIM = 8
DECODER_LAYERS = 2
CONV2_CHANNELS = 2 * DIM
OPSET = 15  # tf2onnx's default; the published graphs come from tf2onnx (opset not checked)
LOUD_DB = -45.0  # a frame is loud when 10*log10(mean square) of its samples exceeds this
FRAMES_PER_TOKEN = 15  # 15 * 384 samples = 0.36 s of loud audio per piece
SOS, EOS = 1, 2  # sherpa's offline-moonshine-greedy-search-decoder.cc
NEVER = -1.0e4
PIECE_SCALE = 8.0  # piece logits lie in [-PIECE_SCALE, PIECE_SCALE] before the bigram bias
EOS_SLOPE = 40.0  # </s> logit per loud frame past the end: +-20 at the boundary
REPEAT_PENALTY = -6.0

SPECIAL_PIECES = ("<unk>", "<s>", "</s>")
WORDS = tuple(
    f"▁{word}"
    for word in (
        *("hello", "there", "world", "the", "a", "to", "is", "it", "and", "you", "we", "that"),
        *("this", "what", "how", "are", "turn", "left", "right", "next", "corner", "stop", "go"),
        *("here", "one", "two", "three", "time", "light", "see", "look", "now", "yes", "no"),
        *("okay", "please", "thank", "read", "sign", "door"),
    )
)
SUFFIXES = ("ing", "s", "ed", "er", "ly")
VOCAB: tuple[str, ...] = SPECIAL_PIECES + WORDS + SUFFIXES
VOCAB_SIZE = len(VOCAB)
TOKEN_ID = {piece: i for i, piece in enumerate(VOCAB)}

PART_NAMES = ("preprocessor", "encoder", "uncached_decoder", "cached_decoder")
FILE_NAMES: dict[bool, dict[str, str]] = {  # int8? -> part -> file, as the published folders
    True: {
        "preprocessor": "preprocess.onnx",
        "encoder": "encode.int8.onnx",
        "uncached_decoder": "uncached_decode.int8.onnx",
        "cached_decoder": "cached_decode.int8.onnx",
        "tokens": "tokens.txt",
    },
    False: {
        "preprocessor": "preprocess.onnx",
        "encoder": "encode.onnx",
        "uncached_decoder": "uncached_decode.onnx",
        "cached_decoder": "cached_decode.onnx",
        "tokens": "tokens.txt",
    },
}

STATE_NAMES: tuple[str, ...] = tuple(
    f"{kind}_{i}"
    for i in range(DECODER_LAYERS)
    for kind in ("cache_k", "cache_v", "x_attn_cache_k", "x_attn_cache_v")
)
# (name, ONNX element type name, shape) of each graph's inputs and outputs, in order
_FLOAT, _INT32 = "tensor(float)", "tensor(int32)"
_CROSS: list[str | int] = ["batch", "frames", HEADS, HEAD_DIM]


def _state_specs(self_len: str) -> list[tuple[str, str, list[str | int]]]:
    specs: list[tuple[str, str, list[str | int]]] = []
    for name in STATE_NAMES:
        self_attn = name.startswith("cache_")
        shape: list[str | int] = ["batch", self_len, HEADS, HEAD_DIM] if self_attn else _CROSS
        specs.append((name, _FLOAT, shape))
    return specs


_DECODER_INPUTS: list[tuple[str, str, list[str | int]]] = [
    ("args_0", _INT32, ["batch", "num_tokens"]),
    ("args_1", _FLOAT, ["batch", "frames", DIM]),
    ("args_2", _INT32, [1]),
]
GRAPH_IO: dict[str, tuple[list[tuple[str, str, list[str | int]]], ...]] = {
    "preprocessor": (
        [("args_0", _FLOAT, ["batch", "num_samples"])],
        [("audio_features", _FLOAT, ["batch", "frames", DIM])],
    ),
    "encoder": (
        [("args_0", _FLOAT, ["batch", "frames", DIM]), ("args_1", _INT32, [1])],
        [("last_hidden_state", _FLOAT, ["batch", "frames", DIM])],
    ),
    "uncached_decoder": (
        _DECODER_INPUTS,
        [("logits", _FLOAT, ["batch", "num_tokens", VOCAB_SIZE]), *_state_specs("num_tokens")],
    ),
    "cached_decoder": (
        _DECODER_INPUTS
        + [
            (f"args_{3 + k}", kind, shape)
            for k, (_, kind, shape) in enumerate(_state_specs("cache_len"))
        ],
        [
            ("logits", _FLOAT, ["batch", "num_tokens", VOCAB_SIZE]),
            *_state_specs("cache_len_plus_1"),
        ],
    ),
}


def frames_for(num_samples: int) -> int:
    """Encoder frames (``T``) the preprocessor makes of ``num_samples`` samples (0: too short)."""
    t = num_samples
    for kernel, stride in zip(CONV_KERNELS, CONV_STRIDES, strict=True):
        if t < kernel:
            return 0
        t = (t - kernel) // stride + 1
    return t


def pieces_for(loud_frames: int) -> int:
    """How many pieces the decoder emits before ``</s>`` for this many loud encoder frames."""
    return (loud_frames + FRAMES_PER_TOKEN // 2) // FRAMES_PER_TOKEN


def sherpa_max_len(frames: int) -> int:
    """sherpa's cap on emitted tokens for ``frames`` encoder frames."""
    return int(frames * SAMPLE_STRIDE / 16000.0 * 6)


@dataclass(frozen=True)
class TinyMoonshine:
    """What :func:`build_tiny_moonshine` wrote; ``path`` is the folder."""

    path: Path
    preprocessor: Path
    encoder: Path
    uncached_decoder: Path
    cached_decoder: Path
    tokens: Path

    def sherpa_kwargs(self) -> dict[str, str]:
        """The file arguments of ``sherpa_onnx.OfflineRecognizer.from_moonshine``."""
        return {
            "preprocessor": str(self.preprocessor),
            "encoder": str(self.encoder),
            "uncached_decoder": str(self.uncached_decoder),
            "cached_decoder": str(self.cached_decoder),
            "tokens": str(self.tokens),
        }


def build_tiny_moonshine(out_dir: Path, seed: int = 0, *, int8: bool = True) -> TinyMoonshine:
    """Write a Moonshine folder with the published file names (``int8``: the int8 folder's)."""
    import onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    names = FILE_NAMES[int8]
    models = make_models(seed)
    paths: dict[str, Path] = {}
    for part in PART_NAMES:
        path = out_dir / names[part]
        if int8 and part != "preprocessor":  # export-onnx.py keeps the preprocessor float
            quantize_int8(models[part], path, extra_options={"MatMulConstBOnly": True})
        else:
            onnx.save(models[part], str(path))
        paths[part] = path
    tokens = write_tokens(out_dir / names["tokens"])
    return TinyMoonshine(
        out_dir,
        paths["preprocessor"],
        paths["encoder"],
        paths["uncached_decoder"],
        paths["cached_decoder"],
        tokens,
    )


def write_tokens(path: Path, vocab: Sequence[str] = VOCAB) -> Path:
    """``piece<TAB>id`` lines, as ``scripts/moonshine/export-onnx.py`` writes them."""
    path.write_text("".join(f"{piece}\t{i}\n" for i, piece in enumerate(vocab)), encoding="utf-8")
    return path


def text_of(pieces: Sequence[str]) -> str:
    """The text sherpa-onnx 1.13 makes of ``pieces``: leading ``▁`` -> space, concatenated.

    sherpa-onnx 2.0.1 then drops the leading space.
    """
    return "".join(" " + p[1:] if p.startswith("▁") else p for p in pieces)


# --- weights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    conv1: np.ndarray  # [DIM - 1, 1, 127], no bias
    norm_scale: np.ndarray  # [DIM - 1, 1] group norm gamma
    norm_bias: np.ndarray  # [DIM - 1, 1]
    conv2: np.ndarray  # [CONV2_CHANNELS, DIM - 1, 7]
    conv2_bias: np.ndarray
    conv3: np.ndarray  # [DIM - 1, CONV2_CHANNELS, 3]
    conv3_bias: np.ndarray
    encoder: np.ndarray  # [DIM - 1, DIM - 1]
    encoder_bias: np.ndarray
    embedding: np.ndarray  # [VOCAB_SIZE, DIM]
    bigram: np.ndarray  # [VOCAB_SIZE, VOCAB_SIZE]: previous token -> logit bias
    layers: tuple[dict[str, np.ndarray], ...]
    output: np.ndarray  # [DIM, VOCAB_SIZE], unit columns for pieces, 0 for the special tokens


def make_weights(seed: int) -> Weights:
    rng = np.random.default_rng(seed)
    content = DIM - 1
    inner = HEADS * HEAD_DIM

    def normal(*shape: int, gain: float = 1.0) -> np.ndarray:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 2 else shape[0]
        value: np.ndarray = rng.standard_normal(shape) * gain / np.sqrt(fan_in)
        return value

    conv1 = normal(content, 1, CONV_KERNELS[0], gain=4.0)
    conv2 = normal(CONV2_CHANNELS, content, CONV_KERNELS[1], gain=2.0)
    conv3 = normal(content, CONV2_CHANNELS, CONV_KERNELS[2], gain=2.0)
    layers = []
    for _ in range(DECODER_LAYERS):
        cross_v = normal(DIM, inner)
        cross_v[DIM - 1] = 0.0  # the loud flag is the same for every loud frame: no content
        layers.append(
            {
                "self_q": normal(DIM, inner),
                "self_k": normal(DIM, inner),
                "self_v": normal(DIM, inner),
                "self_out": normal(inner, DIM, gain=0.1),
                "cross_k": normal(DIM, inner - 2),  # + cumulative loud count, loud flag
                "cross_v": cross_v,
                "cross_out": normal(inner, DIM, gain=1.5),
            }
        )
    output = np.zeros((DIM, VOCAB_SIZE))
    pieces = [TOKEN_ID[p] for p in WORDS + SUFFIXES]
    columns = rng.standard_normal((DIM, len(pieces)))
    output[:, pieces] = columns / np.linalg.norm(columns, axis=0)

    bigram = np.zeros((VOCAB_SIZE, VOCAB_SIZE))
    bigram[:, [TOKEN_ID[p] for p in SPECIAL_PIECES if p != "</s>"]] = NEVER
    bigram[np.arange(VOCAB_SIZE), np.arange(VOCAB_SIZE)] += REPEAT_PENALTY
    suffixes = [TOKEN_ID[p] for p in SUFFIXES]
    for prev in [TOKEN_ID["<s>"], *suffixes]:  # words take suffixes, nothing else does
        bigram[prev, suffixes] = NEVER
    return Weights(
        conv1=conv1,
        norm_scale=1.0 + 0.1 * rng.standard_normal((content, 1)),
        norm_bias=0.1 * rng.standard_normal((content, 1)),
        conv2=conv2,
        conv2_bias=0.1 * rng.standard_normal(CONV2_CHANNELS),
        conv3=conv3,
        conv3_bias=0.1 * rng.standard_normal(content),
        encoder=normal(content, content, gain=2.0),
        encoder_bias=np.zeros(content),
        embedding=0.15 * rng.standard_normal((VOCAB_SIZE, DIM)),
        bigram=bigram,
        layers=tuple(layers),
        output=output,
    )


# --- graphs ----------------------------------------------------------------------------------


class _Graph(GraphBuilder):
    """The graph helper with GELU and the Moonshine graph signatures."""

    def gelu(self, x: str) -> str:
        half = self.op("Mul", x, self.const(0.5))
        erf = self.op("Erf", self.op("Mul", x, self.const(1.0 / np.sqrt(2.0))))
        return self.op("Mul", half, self.op("Add", erf, self.const(1.0)))

    def model(self, name: str, part: str, doc: str) -> onnx.ModelProto:
        import onnx
        from onnx import helper

        inputs, outputs = GRAPH_IO[part]
        kinds = {_FLOAT: onnx.TensorProto.FLOAT, _INT32: onnx.TensorProto.INT32}

        def info(spec: tuple[str, str, list[str | int]]) -> onnx.ValueInfoProto:
            return helper.make_tensor_value_info(spec[0], kinds[spec[1]], spec[2])

        graph = helper.make_graph(
            self.nodes,
            name,
            [info(s) for s in inputs],
            [info(s) for s in outputs],
            initializer=self.initializers,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="glasses-tests"
        )
        model.ir_version = 8
        model.doc_string = doc
        for key, value in metadata(part).items():
            model.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(model, full_check=True)
        return model


def metadata(part: str) -> dict[str, str]:
    """Informational ``metadata_props`` (sherpa reads none for Moonshine)."""
    return {
        "model_type": "moonshine",
        "part": part,
        "model_author": "glasses-tests",
        "comment": "tiny random-weight Moonshine-contract test model",
        "url": "https://github.com/usefulsensors/moonshine",
    }


def make_preprocessor(w: Weights) -> onnx.ModelProto:
    g = _Graph()
    audio = g.op("Unsqueeze", "args_0", g.ints(1))  # [B, 1, N]
    k1, k2, k3 = CONV_KERNELS
    s1, s2, s3 = CONV_STRIDES
    # content: conv, tanh, group norm (one group), conv, gelu, conv, gelu
    c1 = g.op("Conv", audio, g.const(w.conv1, name="conv1.weight"), kernel_shape=[k1], strides=[s1])
    t1 = g.op("Tanh", c1)
    mean = g.op("ReduceMean", t1, axes=[1, 2], keepdims=1)
    centred = g.op("Sub", t1, mean)
    var = g.op("ReduceMean", g.op("Mul", centred, centred), axes=[1, 2], keepdims=1)
    std = g.op("Sqrt", g.op("Add", var, g.const(1e-5)))
    normed = g.op("Div", centred, std)
    normed = g.op(
        "Add",
        g.op("Mul", normed, g.const(w.norm_scale, name="group_norm.gamma")),
        g.const(w.norm_bias, name="group_norm.beta"),
    )
    c2 = g.op(
        "Conv",
        normed,
        g.const(w.conv2, name="conv2.weight"),
        g.const(w.conv2_bias, name="conv2.bias"),
        kernel_shape=[k2],
        strides=[s2],
    )
    c3 = g.op(
        "Conv",
        g.gelu(c2),
        g.const(w.conv3, name="conv3.weight"),
        g.const(w.conv3_bias, name="conv3.bias"),
        kernel_shape=[k3],
        strides=[s3],
    )
    content = g.gelu(c3)  # [B, DIM - 1, T]
    # loudness: mean square over the samples each frame covers, in dB
    square = g.op("Mul", audio, audio)
    e1 = g.op(
        "Conv", square, g.const(np.full((1, 1, k1), 1.0 / k1)), kernel_shape=[k1], strides=[s1]
    )
    e2 = g.op("AveragePool", e1, kernel_shape=[k2], strides=[s2])
    e3 = g.op("AveragePool", e2, kernel_shape=[k3], strides=[s3])
    log = g.op("Log", g.op("Add", e3, g.const(1e-10)))
    loudness = g.op("Mul", log, g.const(10.0 / np.log(10.0)))  # [B, 1, T]
    features = g.op("Concat", content, loudness, axis=1)
    g.op("Transpose", features, out="audio_features", perm=[0, 2, 1])
    return g.model("tiny_moonshine_preprocess", "preprocessor", "audio -> features")


def make_encoder(w: Weights) -> onnx.ModelProto:
    g = _Graph()
    x = "args_0"
    content = g.op("Slice", x, g.ints(0), g.ints(DIM - 1), g.ints(2))
    loudness = g.op("Slice", x, g.ints(DIM - 1), g.ints(DIM), g.ints(2))
    mean = g.op("ReduceMean", content, axes=[-1], keepdims=1)
    centred = g.op("Sub", content, mean)
    var = g.op("ReduceMean", g.op("Mul", centred, centred), axes=[-1], keepdims=1)
    normed = g.op("Div", centred, g.op("Sqrt", g.op("Add", var, g.const(1e-5))))
    hidden = g.op("MatMul", normed, g.const(w.encoder, name="encoder.weight"))
    hidden = g.op("Tanh", g.op("Add", hidden, g.const(w.encoder_bias, name="encoder.bias")))
    loud = g.op("Cast", g.op("Greater", loudness, g.const(LOUD_DB)), to=1)  # float 0 / 1
    joined = g.op("Concat", hidden, loud, axis=2)  # [B, T, DIM]
    # frames at or past args_1 (the number of valid frames) are zero
    frames = g.op("Gather", g.op("Shape", x), g.const(1, np.int64), axis=0)
    steps = g.op("Range", g.const(0, np.int64), frames, g.const(1, np.int64))
    valid = g.op("Less", steps, g.op("Cast", "args_1", to=7))
    valid = g.op("Unsqueeze", g.op("Cast", valid, to=1), g.ints(0, 2))  # [1, T, 1]
    g.op("Mul", joined, valid, out="last_hidden_state")
    return g.model("tiny_moonshine_encode", "encoder", "features, num_frames -> encoder_out")


def _decoder(w: Weights, cached: bool) -> onnx.ModelProto:
    g = _Graph()
    inner = HEADS * HEAD_DIM
    tokens, context, seq_len = "args_0", "args_1", "args_2"
    x = g.op("Gather", g.const(w.embedding, name="embedding"), tokens, axis=0)  # [B, L, DIM]
    step = g.op("Cast", seq_len, to=1)  # [1] float
    heads = g.ints(0, 0, HEADS, HEAD_DIM)
    flat = g.ints(0, 0, inner)
    loud_total = ""
    for i, layer in enumerate(w.layers):
        names = STATE_NAMES[4 * i : 4 * i + 4]
        state = {name: f"args_{3 + 4 * i + k}" for k, name in enumerate(names)}

        def weight(key: str, layer: dict[str, np.ndarray] = layer, i: int = i) -> str:
            return g.const(layer[key], name=f"layers.{i}.{key}")

        # self-attention over this token and the cached ones
        q = g.op("Reshape", g.op("MatMul", x, weight("self_q")), heads)
        k_new = g.op("Reshape", g.op("MatMul", x, weight("self_k")), heads)
        v_new = g.op("Reshape", g.op("MatMul", x, weight("self_v")), heads)
        if cached:
            g.op("Concat", state[names[0]], k_new, out=names[0], axis=1)
            g.op("Concat", state[names[1]], v_new, out=names[1], axis=1)
        else:
            g.op("Identity", k_new, out=names[0])
            g.op("Identity", v_new, out=names[1])
        scores = g.op(
            "MatMul",
            g.op("Transpose", q, perm=[0, 2, 1, 3]),  # [B, H, L, D]
            g.op("Transpose", names[0], perm=[0, 2, 3, 1]),  # [B, H, D, S]
        )
        probs = g.op("Softmax", g.op("Mul", scores, g.const(1.0 / np.sqrt(HEAD_DIM))), axis=-1)
        attended = g.op("MatMul", probs, g.op("Transpose", names[1], perm=[0, 2, 1, 3]))
        attended = g.op("Reshape", g.op("Transpose", attended, perm=[0, 2, 1, 3]), flat)
        x = g.op("Add", x, g.op("MatMul", attended, weight("self_out")))

        # cross-attention: keys and values of the encoder frames, computed once
        if cached:
            cross_k, cross_v = state[names[2]], state[names[3]]
            g.op("Identity", cross_k, out=names[2])
            g.op("Identity", cross_v, out=names[3])
        else:
            loud = g.op("Slice", context, g.ints(DIM - 1), g.ints(DIM), g.ints(2))  # [B, T, 1]
            count = g.op("CumSum", loud, g.const(1, np.int64))
            projected = g.op("MatMul", context, weight("cross_k"))
            keys = g.op("Concat", count, loud, projected, axis=2)
            cross_k = g.op("Reshape", keys, heads, out=names[2])
            values = g.op("Add", g.op("MatMul", context, weight("cross_v")), weight("cross_v_bias"))
            cross_v = g.op("Reshape", values, heads, out=names[3])
        # head 0 of the keys holds (loud frames so far, loud) in its first two dims: attend to
        # the seq_len-th run of FRAMES_PER_TOKEN loud frames
        to_rows = g.ints(0, -1)
        count = g.op(
            "Reshape", g.op("Slice", cross_k, g.ints(0, 0), g.ints(1, 1), g.ints(2, 3)), to_rows
        )
        loud = g.op(
            "Reshape", g.op("Slice", cross_k, g.ints(0, 1), g.ints(1, 2), g.ints(2, 3)), to_rows
        )
        centre = g.op(
            "Sub",
            g.op("Mul", step, g.const(float(FRAMES_PER_TOKEN))),
            g.const(FRAMES_PER_TOKEN / 2 - 0.5),
        )
        offset = g.op("Sub", count, centre)
        sigma = FRAMES_PER_TOKEN / 2
        scores = g.op("Mul", g.op("Mul", offset, offset), g.const(-0.5 / sigma**2))
        quiet = g.op("Mul", g.op("Sub", loud, g.const(1.0)), g.const(-NEVER))  # -1e4 if quiet
        weights = g.op("Softmax", g.op("Add", scores, quiet), axis=-1)  # [B, T]
        ctx = g.op(
            "MatMul",
            g.op("Unsqueeze", weights, g.ints(1)),  # [B, 1, T]
            g.op("Reshape", cross_v, flat),  # [B, T, inner]
        )
        x = g.op("Add", x, g.op("MatMul", ctx, weight("cross_out")))
        if i == 0:
            loud_total = g.op("ReduceSum", loud, g.ints(1), keepdims=0)  # [B]

    # pieces: a unit-length hidden state against unit columns; </s>: past the loud frames
    norm = g.op("Add", g.op("ReduceL2", x, axes=[-1], keepdims=1), g.const(1e-6))
    pieces = g.op("MatMul", g.op("Div", x, norm), g.const(w.output, name="output.weight"))
    pieces = g.op("Mul", pieces, g.const(PIECE_SCALE))
    previous = g.op("Gather", g.const(w.bigram, name="bigram"), tokens, axis=0)
    past_end = g.op(
        "Sub",
        g.op("Mul", step, g.const(float(FRAMES_PER_TOKEN))),
        g.op("Add", loud_total, g.const(FRAMES_PER_TOKEN // 2 + 0.5)),
    )  # +-0.5 or more: > 0 once seq_len > pieces_for(loud frames)
    eos = g.op("Reshape", g.op("Mul", past_end, g.const(EOS_SLOPE)), g.ints(-1, 1, 1))
    one_hot = np.zeros(VOCAB_SIZE)
    one_hot[EOS] = 1.0
    eos = g.op("Mul", eos, g.const(one_hot))
    g.op("Add", g.op("Add", pieces, previous), eos, out="logits")
    part = "cached_decoder" if cached else "uncached_decoder"
    name = "tiny_moonshine_cached_decode" if cached else "tiny_moonshine_uncached_decode"
    return g.model(name, part, "tokens, encoder_out, seq_len[, caches] -> logits, caches")


def make_models(seed: int) -> dict[str, onnx.ModelProto]:
    """The four graphs, each checked with ``onnx.checker`` (full shape inference)."""
    w = make_weights(seed)
    preprocessor, encoder = make_preprocessor(w), make_encoder(w)
    # Centre the cross-attention values on the encoder's mean loud frame, so that tokens follow
    # what differs between sounds rather than what all sounds share.
    mean = typical_frame(preprocessor, encoder, seed)
    layers = tuple({**layer, "cross_v_bias": -mean @ layer["cross_v"]} for layer in w.layers)
    w = replace(w, layers=layers)
    return {
        "preprocessor": preprocessor,
        "encoder": encoder,
        "uncached_decoder": _decoder(w, cached=False),
        "cached_decoder": _decoder(w, cached=True),
    }


def reference_sounds(seed: int) -> list[np.ndarray]:
    """Deterministic 1 s sounds (noise, tones, buzzes, chirps) the values are centred on."""
    rng = np.random.default_rng([seed, 1])
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    sounds = [rng.standard_normal(SAMPLE_RATE) * level for level in (0.01, 0.1)]
    sounds += [0.3 * np.sin(2 * np.pi * hz * t) for hz in (150, 400, 1000, 2500)]
    for pitch in (110, 220):  # buzz: harmonics under a slow vowel-like envelope
        harmonics = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 20))
        sounds.append(0.2 * harmonics * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)))
    sounds.append(0.3 * np.sin(2 * np.pi * (100 + 3000 * t) * t))  # chirp
    bursts = rng.standard_normal(SAMPLE_RATE) * (np.sin(2 * np.pi * 4 * t) > 0)
    sounds.append(0.1 * np.cumsum(bursts) / np.sqrt(np.arange(1, SAMPLE_RATE + 1)))
    return [s.astype(np.float32) for s in sounds]


def typical_frame(preprocessor: onnx.ModelProto, encoder: onnx.ModelProto, seed: int) -> np.ndarray:
    """The mean encoder output over the loud frames of :func:`reference_sounds`."""
    import onnxruntime as ort

    pre = ort.InferenceSession(preprocessor.SerializeToString(), providers=["CPUExecutionProvider"])
    enc = ort.InferenceSession(encoder.SerializeToString(), providers=["CPUExecutionProvider"])
    frames = []
    for sound in reference_sounds(seed):
        features = pre.run(None, {"args_0": sound[None]})[0]
        num_frames = np.array([features.shape[1]], dtype=np.int32)
        out = enc.run(None, {"args_0": features, "args_1": num_frames})[0][0]
        frames.append(out[out[:, -1] > 0.5])
    mean: np.ndarray = np.concatenate(frames).mean(axis=0)
    return mean
