"""A tiny random-weight streaming zipformer transducer that sherpa-onnx runs like the real one.

The real model is ``csukuangfj/sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20``
(icefall's ``pruned_transducer_stateless7_streaming``, sherpa-onnx model type ``zipformer``);
``version=2`` builds the newer icefall ``zipformer`` export instead (model type
``zipformer2``).  The contract is sherpa-onnx's (``online-transducer-model.cc`` picks the class
from the encoder's ``model_type``; ``online-zipformer-transducer-model.cc`` and
``online-zipformer2-transducer-model.cc`` read the metadata, build the initial states and run
the three graphs; ``online-recognizer-transducer-impl.h`` and
``online-transducer-greedy-search-decoder.cc`` feed chunks, search and turn tokens into text)
and icefall's export scripts (``pruned_transducer_stateless7_streaming/export-onnx.py``,
``zipformer/export-onnx-streaming.py``), scaled down:

* Files: ``encoder-epoch-99-avg-1.int8.onnx``, ``decoder-epoch-99-avg-1.int8.onnx``,
  ``joiner-epoch-99-avg-1.int8.onnx`` (``int8=False``: without ``.int8``; int8 is
  ``quantize_dynamic`` with QInt8 weights, MatMul in all three and Gather too in the decoder, as
  the export does) and ``tokens.txt``.  Opset 13.
* Encoder, inputs **by position** (sherpa ignores the names but icefall's are used):
  ``x`` float32 ``[N, T, 80]`` (fbank frames; ``T = decode_chunk_len + 7`` for v1, ``+ 13``
  for v2; sherpa feeds ``T`` frames and moves on by ``decode_chunk_len``), then the states;
  outputs ``encoder_out`` float32 ``[N, decode_chunk_len / 4, joiner_dim]`` then ``new_`` + each
  state name, same order, shapes and dtypes.  Per encoder stack ``i`` (``L`` its layers,
  ``D`` its encoder dim, ``ctx`` its left context, ``K`` its conv kernel):

  - v1, 7 groups, each over all stacks in turn (``cached_len_0``, ``cached_len_1``,
    ``cached_avg_0``, ...): ``cached_len_i`` int64 ``[L, N]``, ``cached_avg_i`` ``[L, N, D]``,
    ``cached_key_i`` ``[L, ctx, N, A]`` (``A`` its attention dim), ``cached_val_i`` and
    ``cached_val2_i`` ``[L, ctx, N, A/2]``, ``cached_conv1_i`` and ``cached_conv2_i``
    ``[L, N, D, K-1]`` (float32 unless said).
  - v2, 6 per layer ``j`` counted over all stacks (``cached_key_0``, ``cached_nonlin_attn_0``,
    ... ``cached_conv2_0``, ``cached_key_1``, ...): ``cached_key_j`` ``[ctx, N, heads *
    query_head_dim]``, ``cached_nonlin_attn_j`` ``[1, N, ctx, 3D/4]``, ``cached_val1_j`` and
    ``cached_val2_j`` ``[ctx, N, heads * value_head_dim]``, ``cached_conv1_j`` and
    ``cached_conv2_j`` ``[N, D, K/2]``; then ``embed_states`` ``[N, 128, 3, 19]`` and
    ``processed_lens`` int64 ``[N]``.

* Encoder ``metadata_props`` (sherpa calls ``exit`` if one it reads is missing):
  ``model_type`` (``zipformer`` / ``zipformer2``), ``version`` ``1``, ``model_author``,
  ``comment``, ``decode_chunk_len`` (32), ``T``, ``num_encoder_layers``, ``encoder_dims``,
  ``cnn_module_kernels``, ``left_context_len`` (comma lists, one value per stack), and
  ``attention_dims`` (v1) or ``query_head_dims``, ``value_head_dims``, ``num_heads`` (v2).
* Decoder: ``y`` int64 ``[N, context_size]`` (the last two tokens; sherpa starts with
  ``[-1, 0]``, so negative ids are padding, as icefall's decoder treats them) ->
  ``decoder_out`` float32 ``[N, joiner_dim]``; metadata ``context_size`` (2), ``vocab_size``.
* Joiner: ``encoder_out`` ``[N, joiner_dim]`` (one frame), ``decoder_out`` ``[N, joiner_dim]`` ->
  ``logit`` ``[N, vocab_size]`` = ``output_linear(tanh(encoder_out + decoder_out))``; metadata
  ``joiner_dim``.
* ``tokens.txt``: ``piece id`` per line: ``<blk>`` 0 (sherpa's blank is always 0),
  ``<sos/eos>`` 1, ``<unk>`` 2 (greedy search treats it as blank), then CJK characters and
  upper-case English BPE pieces (``▁`` starts a word), as the bilingual model's vocabulary.
  sherpa appends pieces, turns a leading ``▁`` into a space, drops spaces between CJK
  characters and :meth:`OnlineRecognizer.get_result` strips the ends.

What the weights do (chosen, not trained), so tests can tell a correct driver from a wrong one:

* The encoder is frame-wise and causal: each output frame pools 4 fbank frames (40 ms,
  :data:`SUBSAMPLED_FRAME_S`) of the chunk's first ``decode_chunk_len``; nothing later in the
  audio changes it, so a stream's partial results only grow and each is a prefix of its final
  text, whatever the chunking.  (Audio cut short and finished decodes to a prefix of the
  whole's text except, at most, for the token nearest the cut, whose frames differ.)  v1 and
  v2 folders of one seed and script decode any audio to the same text.
* Its loudness (log mean mel energy) feeds an integrate-and-fire counter: frames add up to
  :data:`MAX_RATE` each and a token is emitted where the running sum passes an integer, so
  loud sound (speech, tones, noise) gives a token every 0.24 s or more (espeak speech about
  one per 0.3 s) and digital silence, or hiss below -7, none.
* Which piece: a random projection of the spectral shape of the frame and the one before,
  restricted to the builder's ``script`` (``han``: CJK characters, ``latin``: English pieces).
* The state is really carried: the counter's remainder and the previous frame sit in the last
  column of the first layer's ``cached_conv1`` and are read back by the next chunk, so states
  dropped, reset or swapped change the text (and wrong shapes or dtypes fail in onnxruntime).
  The other states are shift registers of the frame vectors (v1 ``cached_len``/``cached_avg``
  a frame count and running mean, v2 ``processed_lens`` a count), so every ``new_*`` output
  depends on its input, except ``embed_states``: like the real one it holds only the last
  three 50 Hz frames of the chunk.
* The decoder depends on ``y``: the joiner will not repeat the last token (and prefers not to
  repeat the one before), so dropping or reordering the context changes the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from asr_support.onnx_build import GraphBuilder, quantize_int8

if TYPE_CHECKING:
    import onnx

FEATURE_DIM = 80
DECODE_CHUNK_LEN = 32  # fbank frames a chunk advances (sherpa's ChunkShift)
SUBSAMPLING = 4  # fbank frames per encoder output frame
OUT_FRAMES = DECODE_CHUNK_LEN // SUBSAMPLING  # encoder output frames per chunk
SUBSAMPLED_FRAME_S = SUBSAMPLING * 0.010  # seconds per encoder output frame
PAD_LENGTH = {1: 7, 2: 7 + 2 * 3}  # icefall: v1 Conv2dSubsampling; v2 plus ConvNeXt's right pad
CHUNK_FRAMES = {v: DECODE_CHUNK_LEN + pad for v, pad in PAD_LENGTH.items()}  # T (ChunkSize)
OPSET = 13  # what both icefall exports use
CONTEXT_SIZE = 2
JOINER_DIM = 64
DECODER_DIM = 64

# Two encoder stacks (the real ones have five or six).
NUM_ENCODER_LAYERS = (1, 2)
ENCODER_DIMS = (32, 24)
DOWNSAMPLING_FACTORS = (1, 2)
LEFT_CONTEXT = 32  # frames at the first stack's rate; icefall divides by each stack's factor
LEFT_CONTEXT_LEN = tuple(LEFT_CONTEXT // ds for ds in DOWNSAMPLING_FACTORS)
CNN_MODULE_KERNELS = (31, 31)
ATTENTION_DIMS = (16, 12)  # v1
NUM_HEADS = (2, 2)  # v2
QUERY_HEAD_DIMS = (8, 6)  # v2
VALUE_HEAD_DIMS = (4, 3)  # v2
EMBED_CHANNELS, EMBED_LEFT_PAD = 128, 3  # v2 embed_states: [N, 128, 3, ((80 - 1)//2 - 1)//2]
EMBED_FREQS = ((FEATURE_DIM - 1) // 2 - 1) // 2  # 19

BLANK, SOS_EOS, UNK = "<blk>", "<sos/eos>", "<unk>"
SPECIAL_PIECES = (BLANK, SOS_EOS, UNK)
SCRIPT_PIECES: dict[str, tuple[str, ...]] = {
    "han": tuple("你好世界西湖下一站到了出口左转谢我们是的"),
    "latin": (
        *("▁HELLO", "▁WORLD", "▁TURN", "▁LEFT", "▁AT", "▁THE", "▁NEXT", "▁CORNER", "▁THANK"),
        *("▁YOU", "▁VERY", "▁MUCH", "▁HOW", "▁ARE", "▁TO", "▁A", "▁I"),
        *("ING", "S", "ER", "ED", "LY"),
    ),
}
VOCAB: tuple[str, ...] = SPECIAL_PIECES + SCRIPT_PIECES["han"] + SCRIPT_PIECES["latin"]
TOKEN_ID = {piece: i for i, piece in enumerate(VOCAB)}

# Loudness (log of the mean mel energy of a frame; sherpa scales samples to [-1, 1]):
# digital silence is log(FLT_EPSILON) = -15.9, noise at 1e-4 about -11.7, speech -5..2.
LOUDNESS_FLOOR = -7.0  # quieter frames add nothing to the token counter
LOUDNESS_SLOPE = 0.05  # counter increment per unit of loudness above the floor...
MAX_RATE = 1 / 6  # ...up to this: one token per 6 frames (0.24 s) of loud sound
SHAPE_SCALE = 1 / 3.5  # spectral shape (log-mel minus its mean) to roughly unit range
SHAPE_CLIP = 4.0
FIRE = 3.0  # encoder_out channel 0: +FIRE on frames that emit, -FIRE on the others
PIECE_SCORE = 0.5  # piece channels lie in [-PIECE_SCORE, PIECE_SCORE]
REPEAT_PENALTY = (0.25, 1.0)  # decoder: weight of the token before last, of the last token
PENALTY_SCALE = 3.0
BLANK_GAIN = 4.0  # joiner: blank logit -BLANK_GAIN * tanh(fire channel), pieces the opposite
NEVER = -30.0  # joiner bias of tokens the model must not emit


def file_name(part: str, int8: bool = True) -> str:
    return f"{part}-epoch-99-avg-1{'.int8' if int8 else ''}.onnx"


@dataclass(frozen=True)
class TinyZipformer:
    """What :func:`build_tiny_zipformer` wrote; ``path`` is the folder."""

    path: Path
    encoder: Path
    decoder: Path
    joiner: Path
    tokens: Path
    version: int
    script: str


def build_tiny_zipformer(
    out_dir: Path, seed: int = 0, *, version: int = 1, script: str = "han", int8: bool = True
) -> TinyZipformer:
    """Write a streaming zipformer folder: encoder, decoder, joiner and ``tokens.txt``."""
    if version not in PAD_LENGTH:
        raise ValueError(f"version must be 1 (zipformer) or 2 (zipformer2), got {version!r}")
    if script not in SCRIPT_PIECES:
        raise ValueError(f"script must be one of {tuple(SCRIPT_PIECES)}, got {script!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = make_weights(seed, script=script)
    models = {
        "encoder": make_encoder(weights, version),
        "decoder": make_decoder(weights),
        "joiner": make_joiner(weights),
    }
    paths: dict[str, Path] = {}
    for part, model in models.items():
        paths[part] = out_dir / file_name(part, int8)
        if int8:
            quantize_int8(
                model,
                paths[part],
                op_types=("MatMul", "Gather") if part == "decoder" else ("MatMul",),
            )
        else:
            import onnx

            onnx.save(model, str(paths[part]))
    tokens = write_tokens(out_dir / "tokens.txt")
    return TinyZipformer(
        out_dir, paths["encoder"], paths["decoder"], paths["joiner"], tokens, version, script
    )


def write_tokens(path: Path, vocab: Sequence[str] = VOCAB) -> Path:
    path.write_text("".join(f"{piece} {i}\n" for i, piece in enumerate(vocab)), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Weights:
    embed: np.ndarray  # [80 + 2, D0 - 1]: spectral shape (+ 2 range anchors) -> frame vector e
    pieces: np.ndarray  # [D0 - 1 + 2, V]: e_t + e_{t-1} (+ anchors) -> piece scores
    proj: np.ndarray  # [V + 2, JOINER_DIM]: "encoder_proj", fire + piece channels -> encoder_out
    token_embed: np.ndarray  # [V, DECODER_DIM]: decoder embedding (one-hot of each piece)
    context: np.ndarray  # [CONTEXT_SIZE, 1]: how the decoder weighs the tokens of y
    decoder_proj: np.ndarray  # [DECODER_DIM, JOINER_DIM]
    output_linear: np.ndarray  # [JOINER_DIM, V]
    output_bias: np.ndarray  # [V]


def make_weights(seed: int, *, script: str) -> Weights:
    rng = np.random.default_rng(seed)
    vocab, d_e = len(VOCAB), ENCODER_DIMS[0] - 1
    if vocab + 2 > JOINER_DIM or vocab > DECODER_DIM:
        raise AssertionError("the vocabulary must fit the joiner's channels")
    # The two extra input rows take the constant range anchors (zero weights): with them every
    # frame has the same min/max, so dynamic int8 quantisation treats each frame alike.
    embed = np.zeros((FEATURE_DIM + 2, d_e))
    embed[:FEATURE_DIM] = rng.standard_normal((FEATURE_DIM, d_e)) * 1.5 / np.sqrt(FEATURE_DIM)
    pieces = np.zeros((d_e + 2, vocab))
    script_ids = [TOKEN_ID[p] for p in SCRIPT_PIECES[script]]
    ordinary = [TOKEN_ID[p] for s in SCRIPT_PIECES.values() for p in s]
    pieces[:d_e, ordinary] = rng.standard_normal((d_e, len(ordinary)))
    pieces[:d_e, ordinary] /= np.linalg.norm(pieces[:d_e, ordinary], axis=0) * 0.7
    proj = np.zeros((vocab + 2, JOINER_DIM))
    proj[:vocab, :vocab] = np.eye(vocab)  # channel 0: fire; channel v: score of token v
    token_embed = np.zeros((vocab, DECODER_DIM))
    token_embed[ordinary, ordinary] = 1.0  # blank, <sos/eos> and <unk> embed to nothing
    context = np.array([[REPEAT_PENALTY[0]], [REPEAT_PENALTY[1]]])
    decoder_proj = np.zeros((DECODER_DIM, JOINER_DIM))
    decoder_proj[ordinary, ordinary] = -PENALTY_SCALE
    output_linear = np.zeros((JOINER_DIM, vocab))
    output_linear[0, 0] = -BLANK_GAIN
    output_linear[0, 1:] = BLANK_GAIN
    output_linear[ordinary, ordinary] = 1.0
    output_bias = np.full(vocab, NEVER)
    output_bias[0] = 0.0
    output_bias[script_ids] = 0.0
    return Weights(
        embed, pieces, proj, token_embed, context, decoder_proj, output_linear, output_bias
    )


# --- graph building ---------------------------------------------------------------------------


class _Graph(GraphBuilder):
    """The graph helper with the encoder's shift registers."""

    def keep_last(self, old: str, new: str, axis: int, length: int, out: str) -> str:
        """The last ``length`` steps of ``old`` followed by ``new`` (a shift register)."""
        both = self.op("Concat", old, new, axis=axis)
        return self.slice(both, axis, OUT_FRAMES, OUT_FRAMES + length, out=out)


def _value(name: str, elem: int, shape: Sequence[int | str]) -> onnx.ValueInfoProto:
    from onnx import helper

    return helper.make_tensor_value_info(name, elem, list(shape))


@dataclass(frozen=True)
class StateSpec:
    name: str
    dtype: str  # "float32" or "int64"
    shape: tuple[int | str, ...]  # "N" marks the batch axis


def state_specs(version: int) -> list[StateSpec]:
    """The encoder's state inputs in sherpa's order (outputs: ``new_`` + name, same order)."""
    f, i64 = "float32", "int64"
    specs: list[StateSpec] = []
    stacks = list(
        zip(NUM_ENCODER_LAYERS, ENCODER_DIMS, LEFT_CONTEXT_LEN, CNN_MODULE_KERNELS, strict=True)
    )
    if version == 1:
        groups: list[tuple[str, str, Any]] = [
            ("cached_len", i64, lambda L, D, c, K, A: (L, "N")),
            ("cached_avg", f, lambda L, D, c, K, A: (L, "N", D)),
            ("cached_key", f, lambda L, D, c, K, A: (L, c, "N", A)),
            ("cached_val", f, lambda L, D, c, K, A: (L, c, "N", A // 2)),
            ("cached_val2", f, lambda L, D, c, K, A: (L, c, "N", A // 2)),
            ("cached_conv1", f, lambda L, D, c, K, A: (L, "N", D, K - 1)),
            ("cached_conv2", f, lambda L, D, c, K, A: (L, "N", D, K - 1)),
        ]
        for group, dtype, shape in groups:
            for s, ((layers, dim, ctx, kernel), att) in enumerate(
                zip(stacks, ATTENTION_DIMS, strict=True)
            ):
                specs.append(StateSpec(f"{group}_{s}", dtype, shape(layers, dim, ctx, kernel, att)))
        return specs
    layer = 0
    for s, (layers, dim, ctx, kernel) in enumerate(stacks):
        key_dim = QUERY_HEAD_DIMS[s] * NUM_HEADS[s]
        value_dim = VALUE_HEAD_DIMS[s] * NUM_HEADS[s]
        for _ in range(layers):
            specs += [
                StateSpec(f"cached_key_{layer}", f, (ctx, "N", key_dim)),
                StateSpec(f"cached_nonlin_attn_{layer}", f, (1, "N", ctx, 3 * dim // 4)),
                StateSpec(f"cached_val1_{layer}", f, (ctx, "N", value_dim)),
                StateSpec(f"cached_val2_{layer}", f, (ctx, "N", value_dim)),
                StateSpec(f"cached_conv1_{layer}", f, ("N", dim, kernel // 2)),
                StateSpec(f"cached_conv2_{layer}", f, ("N", dim, kernel // 2)),
            ]
            layer += 1
    specs += [
        StateSpec("embed_states", f, ("N", EMBED_CHANNELS, EMBED_LEFT_PAD, EMBED_FREQS)),
        StateSpec("processed_lens", i64, ("N",)),
    ]
    return specs


def encoder_metadata(version: int) -> dict[str, str]:
    """The encoder's ``metadata_props``, in the order the real export writes them."""

    def join(values: Sequence[int]) -> str:
        return ",".join(map(str, values))

    common = {
        "decode_chunk_len": str(DECODE_CHUNK_LEN),
        "T": str(CHUNK_FRAMES[version]),
        "num_encoder_layers": join(NUM_ENCODER_LAYERS),
        "encoder_dims": join(ENCODER_DIMS),
    }
    if version == 1:
        return {
            "model_type": "zipformer",
            "version": "1",
            "model_author": "glasses-tests",
            "comment": "tiny random-weight streaming zipformer (pruned_transducer_stateless7)",
            **common,
            "attention_dims": join(ATTENTION_DIMS),
            "cnn_module_kernels": join(CNN_MODULE_KERNELS),
            "left_context_len": join(LEFT_CONTEXT_LEN),
        }
    return {
        "model_type": "zipformer2",
        "version": "1",
        "model_author": "glasses-tests",
        "comment": "tiny random-weight streaming zipformer2",
        **common,
        "cnn_module_kernels": join(CNN_MODULE_KERNELS),
        "left_context_len": join(LEFT_CONTEXT_LEN),
        "query_head_dims": join(QUERY_HEAD_DIMS),
        "value_head_dims": join(VALUE_HEAD_DIMS),
        "num_heads": join(NUM_HEADS),
    }


def decoder_metadata() -> dict[str, str]:
    return {"context_size": str(CONTEXT_SIZE), "vocab_size": str(len(VOCAB))}


def joiner_metadata() -> dict[str, str]:
    return {"joiner_dim": str(JOINER_DIM)}


def _frames(g: _Graph, x: str, w: Weights, last: str) -> str:
    """Write ``encoder_out``; return the chunk's frame vectors ``h = [counter, e]`` ``[N, 8, D0]``.

    ``last`` ``[N, D0]`` is ``h`` of the frame before the chunk (from the conv cache).
    """
    n_vocab = len(VOCAB)
    chunk = g.slice(x, 1, 0, DECODE_CHUNK_LEN)
    grouped = g.op("Reshape", chunk, g.ints(-1, OUT_FRAMES, SUBSAMPLING, FEATURE_DIM))
    pooled = g.op("ReduceMean", grouped, axes=[2], keepdims=0)  # [N, 8, 80]
    # Token counter: loudness above the floor, integrated; a token where it passes an integer.
    log_sum = g.op("ReduceLogSumExp", pooled, axes=[2], keepdims=1)  # [N, 8, 1]
    loudness = g.op("Sub", log_sum, g.const(np.log(FEATURE_DIM)))
    above = g.op("Mul", g.op("Sub", loudness, g.const(LOUDNESS_FLOOR)), g.const(LOUDNESS_SLOPE))
    rate = g.op("Clip", above, g.const(0.0), g.const(MAX_RATE))
    carried = g.op("Unsqueeze", g.slice(last, 1, 0, 1), g.ints(2))  # [N, 1, 1]
    total = g.op("Add", g.op("CumSum", rate, g.const(1, np.int64)), carried)
    whole = g.op("Floor", total)
    before = g.op("Concat", g.op("Floor", carried), g.slice(whole, 1, 0, OUT_FRAMES - 1), axis=1)
    fires = g.op("Cast", g.op("Greater", whole, before), to=1)  # float
    counter = g.op("Sub", total, whole)  # [N, 8, 1] in [0, 1)
    # Frame vector: spectral shape (loudness removed) through a random projection.
    mean = g.op("ReduceMean", pooled, axes=[2], keepdims=1)
    shape = g.op("Mul", g.op("Sub", pooled, mean), g.const(SHAPE_SCALE))
    shape = g.op("Clip", shape, g.const(-SHAPE_CLIP), g.const(SHAPE_CLIP))
    frame_shape = g.op("Shape", rate)  # [N, 8, 1]

    def anchored(t: str, bound: float) -> str:
        anchors = g.op("Expand", g.const([[[bound, -bound]]]), frame_shape)
        return g.op("Concat", t, anchors, axis=2)

    embedded = g.op("Tanh", g.op("MatMul", anchored(shape, SHAPE_CLIP), g.const(w.embed)))
    previous = g.op(
        "Concat",
        g.op("Unsqueeze", g.slice(last, 1, 1, ENCODER_DIMS[0]), g.ints(1)),
        g.slice(embedded, 1, 0, OUT_FRAMES - 1),
        axis=1,
    )
    context = g.op("Add", embedded, previous)  # [N, 8, D0 - 1] in [-2, 2]
    raw = g.op("MatMul", anchored(context, 2.0), g.const(w.pieces))
    scores = g.op("Mul", g.op("Tanh", raw), g.const(PIECE_SCORE))
    fire_channel = g.op("Sub", g.op("Mul", fires, g.const(2 * FIRE)), g.const(FIRE))
    features = g.op("Concat", fire_channel, g.slice(scores, 2, 1, n_vocab), axis=2)
    # The joiner's encoder_proj, folded into the encoder as in icefall's OnnxEncoder.
    g.op("MatMul", anchored(features, FIRE), g.const(w.proj), out="encoder_out")
    h = g.op("Concat", counter, embedded, axis=2)  # [N, 8, D0]
    return h


def make_encoder(w: Weights, version: int) -> onnx.ModelProto:
    """The encoder graph, checked with ``onnx.checker`` (full shape inference)."""
    from onnx import TensorProto

    g = _Graph()
    specs = state_specs(version)
    elem = {"float32": TensorProto.FLOAT, "int64": TensorProto.INT64}
    inputs = [_value("x", TensorProto.FLOAT, ["N", CHUNK_FRAMES[version], FEATURE_DIM])]
    inputs += [_value(s.name, elem[s.dtype], s.shape) for s in specs]
    k0 = CNN_MODULE_KERNELS[0]
    if version == 1:  # cached_conv1_0: [L, N, D, K-1]
        first_layer = g.op("Gather", "cached_conv1_0", g.const(0, np.int64), axis=0)
        last = g.op("Gather", first_layer, g.const(k0 - 2, np.int64), axis=2)
    else:  # cached_conv1_0: [N, D, K/2]
        last = g.op("Gather", "cached_conv1_0", g.const(k0 // 2 - 1, np.int64), axis=2)
    h = _frames(g, "x", w, last)  # also writes encoder_out
    half = g.op("Mul", h, g.const(0.5))  # what the second conv module caches

    def channels(lo: int, hi: int, source: str = h) -> str:
        return g.slice(source, 2, lo, hi)  # [N, 8, hi - lo]

    if version == 1:
        for s, (layers, dim, ctx, kernel, att) in enumerate(
            zip(
                NUM_ENCODER_LAYERS,
                ENCODER_DIMS,
                LEFT_CONTEXT_LEN,
                CNN_MODULE_KERNELS,
                ATTENTION_DIMS,
                strict=True,
            )
        ):
            per_layer = g.ints(layers, 1, 1, 1)
            g.op(
                "Add",
                f"cached_len_{s}",
                g.const(OUT_FRAMES, np.int64),
                out=f"new_cached_len_{s}",
            )
            seen = g.op("Unsqueeze", g.op("Cast", f"cached_len_{s}", to=1), g.ints(2))  # [L,N,1]
            frames_sum = g.op("ReduceSum", channels(0, dim), g.ints(1), keepdims=0)
            running = g.op("Add", g.op("Mul", f"cached_avg_{s}", seen), frames_sum)
            g.op(
                "Div",
                running,
                g.op("Add", seen, g.const(float(OUT_FRAMES))),
                out=f"new_cached_avg_{s}",
            )
            for group, lo, hi in (
                ("cached_key", 0, att),
                ("cached_val", att, att + att // 2),
                ("cached_val2", att + att // 2, 2 * att),
            ):
                steps = g.op("Transpose", channels(lo, hi), perm=[1, 0, 2])  # [8, N, a]
                steps = g.op("Expand", g.op("Unsqueeze", steps, g.ints(0)), per_layer)
                g.keep_last(f"{group}_{s}", steps, 1, ctx, f"new_{group}_{s}")
            for group, source in (("cached_conv1", h), ("cached_conv2", half)):
                steps = g.op("Transpose", channels(0, dim, source), perm=[0, 2, 1])
                steps = g.op("Expand", g.op("Unsqueeze", steps, g.ints(0)), per_layer)
                g.keep_last(f"{group}_{s}", steps, 3, kernel - 1, f"new_{group}_{s}")
    else:
        layer = 0
        for s, (layers, dim, ctx, kernel) in enumerate(
            zip(NUM_ENCODER_LAYERS, ENCODER_DIMS, LEFT_CONTEXT_LEN, CNN_MODULE_KERNELS, strict=True)
        ):
            key_dim = QUERY_HEAD_DIMS[s] * NUM_HEADS[s]
            value_dim = VALUE_HEAD_DIMS[s] * NUM_HEADS[s]
            for _ in range(layers):
                for group, lo, hi in (
                    ("cached_key", 0, key_dim),
                    ("cached_val1", key_dim, key_dim + value_dim),
                    ("cached_val2", dim - value_dim, dim),
                ):
                    steps = g.op("Transpose", channels(lo, hi), perm=[1, 0, 2])
                    g.keep_last(f"{group}_{layer}", steps, 0, ctx, f"new_{group}_{layer}")
                steps = g.op("Unsqueeze", channels(0, 3 * dim // 4), g.ints(0))
                name = f"cached_nonlin_attn_{layer}"
                g.keep_last(name, steps, 2, ctx, f"new_{name}")
                for group, source in (("cached_conv1", h), ("cached_conv2", half)):
                    steps = g.op("Transpose", channels(0, dim, source), perm=[0, 2, 1])
                    g.keep_last(f"{group}_{layer}", steps, 2, kernel // 2, f"new_{group}_{layer}")
                layer += 1
        # embed_states: the last 3 frames at 50 Hz, 80 bins pooled to 19, over 128 channels.
        chunk = g.slice("x", 1, 0, DECODE_CHUNK_LEN)
        pairs = g.op("Reshape", chunk, g.ints(-1, DECODE_CHUNK_LEN // 2, 2, FEATURE_DIM))
        at_50hz = g.op("ReduceMean", pairs, axes=[2], keepdims=0)
        bins = g.slice(at_50hz, 2, 0, 4 * EMBED_FREQS)
        grouped = g.op("Reshape", bins, g.ints(-1, DECODE_CHUNK_LEN // 2, EMBED_FREQS, 4))
        freqs = g.op("Unsqueeze", g.op("ReduceMean", grouped, axes=[3], keepdims=0), g.ints(1))
        gains = g.const(np.linspace(-1.0, 1.0, EMBED_CHANNELS).reshape(1, -1, 1, 1))
        steps = g.op("Mul", freqs, gains)  # [N, 128, 16, 19]
        both = g.op("Concat", "embed_states", steps, axis=2)
        g.slice(both, 2, DECODE_CHUNK_LEN // 2, DECODE_CHUNK_LEN // 2 + 3, out="new_embed_states")
        g.op(
            "Add",
            "processed_lens",
            g.const(DECODE_CHUNK_LEN // 2, np.int64),
            out="new_processed_lens",
        )
    outputs = [_value("encoder_out", TensorProto.FLOAT, ["N", OUT_FRAMES, JOINER_DIM])]
    outputs += [_value(f"new_{s.name}", elem[s.dtype], s.shape) for s in specs]
    return _model(
        g, f"tiny_zipformer_v{version}_encoder", inputs, outputs, encoder_metadata(version)
    )


def make_decoder(w: Weights) -> onnx.ModelProto:
    """``y`` -> ``decoder_out``: embedding (ids < 0 embed to zero), context conv, projection."""
    from onnx import TensorProto

    g = _Graph()
    ids = g.op("Max", "y", g.const(0, np.int64))
    valid = g.op("Cast", g.op("Greater", "y", g.const(-1, np.int64)), to=1)
    embedded = g.op("Gather", g.const(w.token_embed, name="decoder.embedding.weight"), ids, axis=0)
    embedded = g.op("Mul", embedded, g.op("Unsqueeze", valid, g.ints(2)))  # [N, 2, Dd]
    over_context = g.op("Transpose", embedded, perm=[0, 2, 1])  # [N, Dd, 2]
    conv = g.op("MatMul", over_context, g.const(w.context, name="decoder.conv.weight"))
    hidden = g.op("Relu", g.op("Squeeze", conv, g.ints(2)))  # [N, Dd]
    g.op(
        "MatMul",
        hidden,
        g.const(w.decoder_proj, name="decoder_proj.weight"),
        out="decoder_out",
    )
    return _model(
        g,
        "tiny_zipformer_decoder",
        [_value("y", TensorProto.INT64, ["N", CONTEXT_SIZE])],
        [_value("decoder_out", TensorProto.FLOAT, ["N", JOINER_DIM])],
        decoder_metadata(),
    )


def make_joiner(w: Weights) -> onnx.ModelProto:
    from onnx import TensorProto

    g = _Graph()
    hidden = g.op("Tanh", g.op("Add", "encoder_out", "decoder_out"))
    linear = g.op("MatMul", hidden, g.const(w.output_linear, name="output_linear.weight"))
    g.op("Add", linear, g.const(w.output_bias, name="output_linear.bias"), out="logit")
    return _model(
        g,
        "tiny_zipformer_joiner",
        [
            _value("encoder_out", TensorProto.FLOAT, ["N", JOINER_DIM]),
            _value("decoder_out", TensorProto.FLOAT, ["N", JOINER_DIM]),
        ],
        [_value("logit", TensorProto.FLOAT, ["N", len(VOCAB)])],
        joiner_metadata(),
    )


def _model(
    g: _Graph,
    name: str,
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    meta: dict[str, str],
) -> onnx.ModelProto:
    import onnx
    from onnx import helper

    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="glasses-tests"
    )
    model.ir_version = 8
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model, full_check=True)
    return model


# --- damaged copies, for tests of what happens when a folder is wrong ---------------------------


def with_input_order(src: Path, dst: Path, order: Sequence[str]) -> Path:
    """A copy of the graph at ``src`` whose inputs come in ``order`` (same names, same graph).

    sherpa passes tensors by position, so this is an export whose states are in the wrong order.
    """
    import onnx

    model = onnx.load(str(src))
    by_name = {v.name: v for v in model.graph.input}
    if sorted(order) != sorted(by_name):
        raise ValueError(f"order must name each input once: {sorted(by_name)}")
    reordered = [by_name[name] for name in order]
    del model.graph.input[:]
    model.graph.input.extend(reordered)
    onnx.save(model, str(dst))
    return dst
