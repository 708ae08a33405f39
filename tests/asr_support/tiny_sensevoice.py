"""A tiny random-weight SenseVoice model folder that sherpa-onnx loads like the real one.

The contract is sherpa-onnx's (``offline-sense-voice-model.cc``,
``offline-recognizer-sense-voice-impl.h``, ``scripts/sense-voice/export-onnx.py``):

* ``model.onnx`` (or ``model.int8.onnx``, MatMul weights dynamically quantised to QUInt8 as the
  published int8 folders are) with, in this order, inputs ``x`` float32 ``[N, T, 560]`` (80-dim
  fbank stacked over an LFR window of 7, already CMVN-normalised by sherpa), ``x_length`` int32
  ``[N]``, ``language`` int32 ``[N]`` and ``text_norm`` int32 ``[N]``, and one output
  ``logits`` float32 ``[N, T + 4, vocab]``: CTC logits (blank id 0) for four query frames
  (language, emotion, event, text-norm) followed by one frame per input frame.
* ``language`` and ``text_norm`` index the model's 16-row query embedding (SenseVoice's
  ``lid_dict`` and ``textnorm_dict``: auto 0, zh 3, en 4, yue 7, ja 11, ko 12, nospeech 13;
  withitn 14, woitn 15); event and emotion use rows 1 and 2.
* ``metadata_props`` with everything sherpa reads (it calls ``_Exit`` if any is missing):
  ``vocab_size``, ``lfr_window_size``, ``lfr_window_shift``, ``normalize_samples``,
  ``with_itn``, ``without_itn``, ``lang_{auto,zh,en,ja,ko,yue}``, ``neg_mean``, ``inv_stddev``
  (560 comma-separated floats each), plus the informational keys the real export writes.
* ``tokens.txt``: ``piece id`` per line covering every output id; ``<unk>`` (0, the CTC blank),
  ``<s>``, ``</s>``, ordinary pieces (``▁`` marks a word start), then the ``<|...|>`` tags.

The "encoder" is one linear map per frame, with a few deliberate properties so tests can check
that glasses drives the model correctly rather than just that something came out:

* digital silence decodes to blank (token columns are orthogonal to the silence feature vector
  and the blank logit grows as frames get quieter), speech decodes to pieces picked by its
  spectrum, so text depends on the audio and a prefix of the audio decodes to a prefix of the
  text (the encoder is frame-wise, like a perfectly stable streaming model);
* the four query frames decode to fixed tags: the ``language`` input picks the language tag
  (``auto`` -> the builder's ``language``), ``text_norm`` picks ``<|withitn|>`` / ``<|woitn|>``;
* the language also holds back pieces of other scripts (so ``language="en"`` gives ``▁``-words and
  ``zh`` gives CJK), and ``woitn`` forbids punctuation, as real SenseVoice does without ITN;
* frames past ``x_length`` (batch padding) decode to blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from asr_support.onnx_build import quantize_int8

if TYPE_CHECKING:
    import onnx

FEATURE_DIM = 80  # fbank bins (sherpa's default feature_dim)
LFR_WINDOW_SIZE = 7
LFR_WINDOW_SHIFT = 6
INPUT_DIM = FEATURE_DIM * LFR_WINDOW_SIZE  # 560
OPSET = 13  # what scripts/sense-voice/export-onnx.py exports with

# SenseVoice's query-embedding rows (model.py: lid_dict, textnorm_dict).
LANGUAGE_IDS = {"auto": 0, "zh": 3, "en": 4, "yue": 7, "ja": 11, "ko": 12, "nospeech": 13}
TEXTNORM_IDS = {"withitn": 14, "woitn": 15}
EVENT_EMOTION_ROWS = (1, 2)
EMBED_ROWS = 7 + len(LANGUAGE_IDS) + len(TEXTNORM_IDS)  # 16

# log(FLT_EPSILON): the log-mel energy kaldi-native-fbank gives an all-zero frame.
LOG_FLOOR = float(np.log(np.finfo(np.float32).eps))


def _tags(*names: str) -> tuple[str, ...]:
    return tuple(f"<|{name}|>" for name in names)


def _word_starts(words: str) -> tuple[str, ...]:
    return tuple(f"▁{word}" for word in words.split())


BLANK = "<unk>"
SPECIAL_PIECES = ("<unk>", "<s>", "</s>")
SCRIPT_PIECES: dict[str, tuple[str, ...]] = {
    "han": tuple("你好世界西湖下一站到了出口左转谢我们是的嘅咗唔係"),
    "latin": (
        *_word_starts("turn left at the next corner hello how are you to thank very much a i"),
        *("day", "ing", "s", "er"),
    ),
    "kana": tuple("こんにちはありがとう"),
    "hangul": tuple("안녕하세요감사"),
}
PUNCTUATION = ("，", "。", "？", "！", ",", ".", "?")
LANGUAGE_SCRIPT = {"zh": "han", "yue": "han", "en": "latin", "ja": "kana", "ko": "hangul"}
LANGUAGE_TAGS = _tags("zh", "en", "yue", "ja", "ko", "nospeech")
EMOTIONS = ("HAPPY", "SAD", "ANGRY", "NEUTRAL", "FEARFUL", "DISGUSTED", "SURPRISED", "EMO_UNKNOWN")
EMOTION_TAGS = _tags(*EMOTIONS)
EVENTS = ("Speech", "BGM", "Laughter", "Applause", "Cry", "Sneeze", "Breath", "Cough", "Event_UNK")
EVENT_TAGS = _tags(*EVENTS)
TEXTNORM_TAGS = _tags("withitn", "woitn")

VOCAB: tuple[str, ...] = (
    SPECIAL_PIECES
    + tuple(p for pieces in SCRIPT_PIECES.values() for p in pieces)
    + PUNCTUATION
    + LANGUAGE_TAGS
    + EMOTION_TAGS
    + EVENT_TAGS
    + TEXTNORM_TAGS
)
TOKEN_ID = {piece: i for i, piece in enumerate(VOCAB)}

NEVER = -1.0e4  # logit for a token a frame must not emit
TAG_LOGIT = 10.0  # query frames: the chosen tag's logit (all others 0)
OTHER_SCRIPTS = -6.0  # added to pieces not in the language's script (blank, punctuation: 0)
BLANK_SLOPE = 1.2  # blank logit = -BLANK_SLOPE * mean(normalised features) + BLANK_BIAS
BLANK_BIAS = 0.0


@dataclass(frozen=True)
class TinySenseVoice:
    """What :func:`build_tiny_sensevoice_model` wrote; ``path`` is the folder."""

    path: Path
    model: Path
    tokens: Path
    language: str  # the language "auto" reports ("nospeech": the model heard no speech)
    emotion: str
    event: str


def build_tiny_sensevoice(
    out_dir: Path,
    seed: int = 0,
    *,
    language: str = "zh",
    emotion: str = "NEUTRAL",
    event: str = "Speech",
    int8: bool = False,
) -> Path:
    """Write a SenseVoice folder (``model.onnx`` or ``model.int8.onnx``, ``tokens.txt``)."""
    return build_tiny_sensevoice_model(
        out_dir, seed, language=language, emotion=emotion, event=event, int8=int8
    ).path


def build_tiny_sensevoice_model(
    out_dir: Path,
    seed: int = 0,
    *,
    language: str = "zh",
    emotion: str = "NEUTRAL",
    event: str = "Speech",
    int8: bool = False,
) -> TinySenseVoice:
    if language not in LANGUAGE_IDS or language == "auto":
        raise ValueError(f"language must be one of {LANGUAGE_TAGS}, got {language!r}")
    for tag, options in ((f"<|{emotion}|>", EMOTION_TAGS), (f"<|{event}|>", EVENT_TAGS)):
        if tag not in options:
            raise ValueError(f"{tag} is not one of {options}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tokens = write_tokens(out_dir / "tokens.txt")
    model = make_model(seed, language=language, emotion=emotion, event=event)
    if int8:
        path = out_dir / "model.int8.onnx"
        quantize_int8(model, path, unsigned=True)  # as export-onnx.py makes model.int8.onnx
    else:
        import onnx

        path = out_dir / "model.onnx"
        onnx.save(model, str(path))
    return TinySenseVoice(out_dir, path, tokens, language, emotion, event)


def write_tokens(path: Path, vocab: Sequence[str] = VOCAB) -> Path:
    path.write_text("".join(f"{piece} {i}\n" for i, piece in enumerate(vocab)), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Weights:
    neg_mean: np.ndarray  # [560]
    inv_stddev: np.ndarray  # [560]
    proj: np.ndarray  # [560, V]: the "encoder + CTC head" for speech frames
    bias: np.ndarray  # [V]
    queries: np.ndarray  # [16, V]: query-embedding row -> logits of its frame
    condition: np.ndarray  # [16, V]: language / text-norm row -> bias on every speech frame
    padding: np.ndarray  # [V]: logits of frames past x_length


def make_weights(seed: int, *, language: str, emotion: str, event: str) -> Weights:
    rng = np.random.default_rng(seed)
    vocab = len(VOCAB)
    # CMVN statistics in the range of SenseVoice's am.mvn (log-mel of int16-scaled audio), the
    # same 80 values repeated for each of the 7 stacked frames.
    neg_mean = np.tile(-rng.uniform(11.0, 15.0, FEATURE_DIM), LFR_WINDOW_SIZE)
    inv_stddev = np.tile(1.0 / rng.uniform(4.5, 6.5, FEATURE_DIM), LFR_WINDOW_SIZE)

    ordinary = [TOKEN_ID[p] for pieces in SCRIPT_PIECES.values() for p in pieces]
    ordinary += [TOKEN_ID[p] for p in PUNCTUATION]
    proj = np.zeros((INPUT_DIM, vocab))
    proj[:, ordinary] = rng.standard_normal((INPUT_DIM, len(ordinary))) / np.sqrt(INPUT_DIM)
    # Pieces ignore overall loudness and digital silence: project out both directions.
    silence = (LOG_FLOOR + neg_mean) * inv_stddev
    basis, _ = np.linalg.qr(np.stack([np.ones(INPUT_DIM), silence], axis=1))
    proj -= basis @ (basis.T @ proj)
    proj[:, ordinary] /= np.linalg.norm(proj[:, ordinary], axis=0)  # no piece dominates
    proj[:, TOKEN_ID[BLANK]] = -BLANK_SLOPE / INPUT_DIM  # quieter frames lean to blank
    bias = np.full(vocab, NEVER)
    bias[ordinary] = 0.0
    bias[TOKEN_ID[BLANK]] = BLANK_BIAS

    def one_hot(piece: str) -> np.ndarray:
        row = np.zeros(vocab)
        row[TOKEN_ID[piece]] = TAG_LOGIT
        return row

    queries = np.tile(one_hot(f"<|{language}|>"), (EMBED_ROWS, 1))  # unused rows act as auto
    for name, row in LANGUAGE_IDS.items():
        if name != "auto":
            queries[row] = one_hot(f"<|{name}|>")
    queries[EVENT_EMOTION_ROWS[0]] = one_hot(f"<|{emotion}|>")  # sherpa: tokens[1] = emotion
    queries[EVENT_EMOTION_ROWS[1]] = one_hot(f"<|{event}|>")  # sherpa: tokens[2] = event
    for name, row in TEXTNORM_IDS.items():
        queries[row] = one_hot(f"<|{name}|>")

    def script_bias(lang: str) -> np.ndarray:
        row = np.zeros(vocab)
        if lang in LANGUAGE_SCRIPT:  # not nospeech
            script = LANGUAGE_SCRIPT[lang]
            others = [p for s, pieces in SCRIPT_PIECES.items() if s != script for p in pieces]
            row[[TOKEN_ID[p] for p in others]] = OTHER_SCRIPTS
        return row

    condition = np.zeros((EMBED_ROWS, vocab))
    for name, lang_row in LANGUAGE_IDS.items():
        condition[lang_row] = script_bias(name if name != "auto" else language)
    condition[TEXTNORM_IDS["woitn"], [TOKEN_ID[p] for p in PUNCTUATION]] = NEVER

    padding = np.full(vocab, NEVER)
    padding[TOKEN_ID[BLANK]] = 0.0
    return Weights(neg_mean, inv_stddev, proj, bias, queries, condition, padding)


def metadata(weights: Weights) -> dict[str, str]:
    """The ``metadata_props`` of the real export, in its order, with this model's values."""

    def floats(values: np.ndarray) -> str:
        return ",".join(f"{v:.8g}" for v in values.astype(np.float32))

    return {
        "lfr_window_size": str(LFR_WINDOW_SIZE),
        "lfr_window_shift": str(LFR_WINDOW_SHIFT),
        "normalize_samples": "0",  # sherpa scales samples to int16 range before the fbank
        "neg_mean": floats(weights.neg_mean),
        "inv_stddev": floats(weights.inv_stddev),
        "model_type": "sense_voice_ctc",
        "version": "2",
        "model_author": "glasses-tests",
        "maintainer": "glasses",
        "vocab_size": str(len(VOCAB)),
        "comment": "tiny random-weight SenseVoice-contract test model",
        **{f"lang_{name}": str(row) for name, row in LANGUAGE_IDS.items()},
        "with_itn": str(TEXTNORM_IDS["withitn"]),
        "without_itn": str(TEXTNORM_IDS["woitn"]),
        "url": "https://github.com/FunAudioLLM/SenseVoice",
    }


def make_model(seed: int, *, language: str, emotion: str, event: str) -> onnx.ModelProto:
    """The ONNX model, checked with ``onnx.checker`` (full shape inference)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = make_weights(seed, language=language, emotion=emotion, event=event)
    vocab = len(VOCAB)
    inits = [
        numpy_helper.from_array(np.asarray(value, dtype=dtype), name)
        for name, value, dtype in (
            ("ctc_lo.weight", w.proj, np.float32),
            ("ctc_lo.bias", w.bias, np.float32),
            ("query_logits", w.queries, np.float32),
            ("condition_bias", w.condition, np.float32),
            ("padding_logits", w.padding, np.float32),
            ("event_emo_rows", [list(EVENT_EMOTION_ROWS)], np.int32),
            ("two", [2], np.int64),
            ("axis0", [0], np.int64),
            ("axis1", [1], np.int64),
            ("axis2", [2], np.int64),
            ("one", 1, np.int64),
            ("zero_i32", 0, np.int32),
            ("one_i32", 1, np.int32),
        )
    ]
    node = helper.make_node
    nodes = [
        # Query frames: rows of the query table picked by language, event/emotion, text_norm.
        node("Shape", ["x"], ["x_shape"]),
        node("Gather", ["x_shape", "axis0"], ["batch"], axis=0),
        node("Concat", ["batch", "two"], ["event_emo_shape"], axis=0),
        node("Expand", ["event_emo_rows", "event_emo_shape"], ["event_emo_index"]),
        node("Unsqueeze", ["language", "axis1"], ["language_index"]),
        node("Unsqueeze", ["text_norm", "axis1"], ["text_norm_index"]),
        node(
            "Concat",
            ["language_index", "event_emo_index", "text_norm_index"],
            ["query_index"],
            axis=1,
        ),
        node("Gather", ["query_logits", "query_index"], ["query_frames"], axis=0),
        # Speech frames: a linear map of each frame, biased by language and text norm.
        node("MatMul", ["x", "ctc_lo.weight"], ["projected"]),
        node("Add", ["projected", "ctc_lo.bias"], ["frame_logits"]),
        node("Gather", ["condition_bias", "language"], ["language_bias"], axis=0),
        node("Gather", ["condition_bias", "text_norm"], ["text_norm_bias"], axis=0),
        node("Add", ["language_bias", "text_norm_bias"], ["condition"]),
        node("Unsqueeze", ["condition", "axis1"], ["condition_3d"]),
        node("Add", ["frame_logits", "condition_3d"], ["speech_logits"]),
        # Frames at or past x_length (batch padding) are blank.
        node("Gather", ["x_shape", "one"], ["num_frames"], axis=0),
        node("Cast", ["num_frames"], ["num_frames_i32"], to=TensorProto.INT32),
        node("Range", ["zero_i32", "num_frames_i32", "one_i32"], ["steps"]),
        node("Unsqueeze", ["steps", "axis0"], ["steps_row"]),
        node("Unsqueeze", ["x_length", "axis1"], ["lengths_col"]),
        node("Less", ["steps_row", "lengths_col"], ["valid"]),
        node("Unsqueeze", ["valid", "axis2"], ["valid_3d"]),
        node("Where", ["valid_3d", "speech_logits", "padding_logits"], ["masked_logits"]),
        node("Concat", ["query_frames", "masked_logits"], ["logits"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_sense_voice",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "T", INPUT_DIM]),
            helper.make_tensor_value_info("x_length", TensorProto.INT32, ["N"]),
            helper.make_tensor_value_info("language", TensorProto.INT32, ["N"]),
            helper.make_tensor_value_info("text_norm", TensorProto.INT32, ["N"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "T_plus_4", vocab])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="glasses-tests"
    )
    model.ir_version = 8
    for key, value in metadata(w).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model, full_check=True)
    return model
