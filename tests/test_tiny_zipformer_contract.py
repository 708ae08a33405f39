"""The tiny streaming zipformer (``asr_support.tiny_zipformer``) against sherpa-onnx itself.

No glasses code: these tests hold the builder to the contract its docstring states, by loading
its folders with ``sherpa_onnx.OnlineRecognizer.from_transducer`` exactly as the real bilingual
model is loaded, and by looking at the graphs with onnxruntime.  The expected names and shapes
are derived here from the metadata the way sherpa-onnx's ``GetEncoderInitStates`` derives them,
not taken from the builder.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from asr_support.onnx_build import with_metadata
from asr_support.tiny_zipformer import (
    BLANK,
    CHUNK_FRAMES,
    DECODE_CHUNK_LEN,
    FEATURE_DIM,
    SCRIPT_PIECES,
    SUBSAMPLED_FRAME_S,
    VOCAB,
    TinyZipformer,
    build_tiny_zipformer,
    file_name,
    with_input_order,
)
from perception_support.speech import have_espeak, noise, phrase, silence, tone

sherpa_onnx = pytest.importorskip("sherpa_onnx")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.model

RATE = 16_000
TAIL_PADDING_S = 0.66  # as sherpa-onnx's examples (and glasses) pad the end of a stream
VERSIONS = (1, 2)
HAN = set("".join(SCRIPT_PIECES["han"]))
LATIN_TEXT = re.compile(r"[A-Z]+( [A-Z]+)*")
needs_espeak = pytest.mark.skipif(
    not have_espeak(), reason="espeak-ng is not installed (apt install espeak-ng)"
)

Folders = dict[tuple[int, str], TinyZipformer]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Folders:
    root = tmp_path_factory.mktemp("zipformer")
    return {
        (version, script): build_tiny_zipformer(
            root / f"v{version}-{script}", seed=0, version=version, script=script
        )
        for version in VERSIONS
        for script in ("han", "latin")
    }


def load(model: TinyZipformer, *, encoder: Path | None = None) -> Any:
    return sherpa_onnx.OnlineRecognizer.from_transducer(
        tokens=str(model.tokens),
        encoder=str(encoder or model.encoder),
        decoder=str(model.decoder),
        joiner=str(model.joiner),
        num_threads=1,
        sample_rate=RATE,
        feature_dim=FEATURE_DIM,
        decoding_method="greedy_search",
        enable_endpoint_detection=False,
    )


@pytest.fixture(scope="module")
def recognizers(folders: Folders) -> Callable[[int, str], Any]:
    cache: dict[tuple[int, str], Any] = {}

    def get(version: int, script: str = "han") -> Any:
        if (version, script) not in cache:
            cache[(version, script)] = load(folders[(version, script)])
        return cache[(version, script)]

    return get


def feed(recognizer: Any, stream: Any, samples: np.ndarray) -> None:
    stream.accept_waveform(RATE, np.ascontiguousarray(samples, dtype=np.float32))
    while recognizer.is_ready(stream):
        recognizer.decode_stream(stream)


def finish(recognizer: Any, stream: Any) -> str:
    feed(recognizer, stream, silence(TAIL_PADDING_S))
    stream.input_finished()
    while recognizer.is_ready(stream):
        recognizer.decode_stream(stream)
    return str(recognizer.get_result(stream))


def transcribe(recognizer: Any, samples: np.ndarray, step_s: float = 0.1) -> tuple[str, list[str]]:
    """The final text, and the partial text after each ``step_s`` of audio."""
    stream = recognizer.create_stream()
    partials = []
    step = round(step_s * RATE)
    for start in range(0, len(samples), step):
        feed(recognizer, stream, samples[start : start + step])
        partials.append(str(recognizer.get_result(stream)))
    return finish(recognizer, stream), partials


def loud_sounds() -> np.ndarray:
    """Noise, a tone and a chirp-like sweep: speech-like enough for the model, no espeak."""
    return np.concatenate(
        [silence(0.3), noise(0.8, level=0.05), tone(0.6, 330.0), tone(0.5, 1250.0), silence(0.3)]
    )


# --- sherpa-onnx loads and runs the folders --------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_digital_silence_and_faint_hiss_decode_to_nothing(
    recognizers: Callable[[int, str], Any], version: int
) -> None:
    recognizer = recognizers(version, "han")
    assert transcribe(recognizer, silence(2.0)) == ("", [""] * 20)
    assert transcribe(recognizer, noise(1.0, level=1e-4))[0] == ""


@pytest.mark.parametrize("version", VERSIONS)
def test_loud_sound_emits_tokens_a_few_tenths_of_a_second_apart(
    recognizers: Callable[[int, str], Any], version: int
) -> None:
    recognizer = recognizers(version, "han")
    sound = loud_sounds()
    stream = recognizer.create_stream()
    feed(recognizer, stream, sound)
    finish(recognizer, stream)
    tokens, times = list(recognizer.tokens(stream)), list(recognizer.timestamps(stream))
    loud_s = len(sound) / RATE - 0.6
    assert loud_s / 0.45 <= len(tokens) <= loud_s / 0.2
    assert set(tokens) <= HAN
    assert min(np.diff(times)) >= 0.2 - 1e-6  # never two tokens in one burst
    assert times[0] >= 0.3 and times[-1] <= len(sound) / RATE  # where the sound is
    assert all(
        t / SUBSAMPLED_FRAME_S == pytest.approx(round(t / SUBSAMPLED_FRAME_S)) for t in times
    )


@needs_espeak
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("words", "voice"),
    [("hello there", "en"), ("你好", "cmn"), ("Turn left at the next corner", "en")],
)
def test_speech_decodes_to_pieces_of_the_chosen_script(
    recognizers: Callable[[int, str], Any], version: int, words: str, voice: str
) -> None:
    speech = phrase(words, voice=voice)
    han, _ = transcribe(recognizers(version, "han"), speech)
    latin, _ = transcribe(recognizers(version, "latin"), speech)
    seconds = len(speech) / RATE
    assert han and set(han) <= HAN, han  # CJK characters, no spaces between them
    assert 1 <= len(han) <= seconds / 0.2
    assert LATIN_TEXT.fullmatch(latin), latin  # upper-case BPE, words from "▁" pieces
    assert latin == latin.strip() and "  " not in latin


@needs_espeak
@pytest.mark.parametrize("version", VERSIONS)
def test_partials_grow_while_speaking_and_are_prefixes_of_the_final(
    recognizers: Callable[[int, str], Any], version: int
) -> None:
    speech = np.concatenate([silence(0.2), phrase("Turn left at the next corner"), silence(0.2)])
    final, partials = transcribe(recognizers(version, "han"), speech)
    assert all(final.startswith(p) for p in partials)
    assert all(b.startswith(a) for a, b in itertools.pairwise(partials))
    growing = [p for p in dict.fromkeys(partials) if p]
    assert len(growing) >= 3  # text appears while the audio is still coming in
    assert len(final) >= len(growing[-1]) >= 3
    # The same audio in other chunk sizes (and all at once) gives the same text.
    assert transcribe(recognizers(version, "han"), speech, step_s=0.37)[0] == final
    assert transcribe(recognizers(version, "han"), speech, step_s=10.0)[0] == final


def test_v1_and_v2_agree_and_the_builder_is_deterministic(
    folders: Folders, recognizers: Callable[[int, str], Any], tmp_path: Path
) -> None:
    sound = loud_sounds()
    text = transcribe(recognizers(1, "latin"), sound)[0]
    assert text and LATIN_TEXT.fullmatch(text)
    assert transcribe(recognizers(2, "latin"), sound)[0] == text  # same weights, other contract
    again = build_tiny_zipformer(tmp_path / "again", seed=0, version=1, script="latin")
    original = folders[(1, "latin")]
    for part in ("encoder", "decoder", "joiner", "tokens"):
        assert getattr(again, part).read_bytes() == getattr(original, part).read_bytes()
    other = build_tiny_zipformer(tmp_path / "seed1", seed=1, version=1, script="latin")
    assert transcribe(load(other), sound)[0] != text


def test_two_streams_decoded_together_match_each_alone(
    recognizers: Callable[[int, str], Any],
) -> None:
    # sherpa stacks the states of several streams along each state's batch axis.
    for version in VERSIONS:
        recognizer = recognizers(version, "han")
        sounds = [loud_sounds(), np.concatenate([noise(1.0, level=0.2, seed=3), tone(1.0, 700)])]
        alone = [transcribe(recognizer, s)[0] for s in sounds]
        streams = [recognizer.create_stream() for _ in sounds]
        for stream, sound in zip(streams, sounds, strict=True):
            stream.accept_waveform(RATE, sound)
            stream.accept_waveform(RATE, silence(TAIL_PADDING_S))
            stream.input_finished()
        while ready := [s for s in streams if recognizer.is_ready(s)]:
            recognizer.decode_streams(ready)
        assert [recognizer.get_result(s) for s in streams] == alone


def test_float_folder_has_the_names_without_int8(tmp_path: Path) -> None:
    model = build_tiny_zipformer(tmp_path / "fp32", version=2, script="latin", int8=False)
    assert {p.name for p in model.path.iterdir()} == {
        "encoder-epoch-99-avg-1.onnx",
        "decoder-epoch-99-avg-1.onnx",
        "joiner-epoch-99-avg-1.onnx",
        "tokens.txt",
    }
    assert file_name("joiner") == "joiner-epoch-99-avg-1.int8.onnx"
    text = transcribe(load(model), loud_sounds())[0]
    assert text and LATIN_TEXT.fullmatch(text)
    with pytest.raises(ValueError, match="version must be 1"):
        build_tiny_zipformer(tmp_path / "v3", version=3)
    with pytest.raises(ValueError, match="script must be one of"):
        build_tiny_zipformer(tmp_path / "kana", script="kana")


# --- the graphs, as sherpa-onnx's source describes them ----------------------------------------


def ints(meta: dict[str, str], key: str) -> list[int]:
    return [int(v) for v in meta[key].split(",")]


def sherpa_states(meta: dict[str, str]) -> list[tuple[str, str, list[int]]]:
    """(name, onnx type, shape at batch 1) of each state, as sherpa-onnx builds them."""
    layers, dims = ints(meta, "num_encoder_layers"), ints(meta, "encoder_dims")
    kernels, left = ints(meta, "cnn_module_kernels"), ints(meta, "left_context_len")
    f, i64 = "tensor(float)", "tensor(int64)"
    if meta["model_type"] == "zipformer":
        att = ints(meta, "attention_dims")
        groups: list[tuple[str, str, Callable[[int], list[int]]]] = [
            ("cached_len", i64, lambda i: [layers[i], 1]),
            ("cached_avg", f, lambda i: [layers[i], 1, dims[i]]),
            ("cached_key", f, lambda i: [layers[i], left[i], 1, att[i]]),
            ("cached_val", f, lambda i: [layers[i], left[i], 1, att[i] // 2]),
            ("cached_val2", f, lambda i: [layers[i], left[i], 1, att[i] // 2]),
            ("cached_conv1", f, lambda i: [layers[i], 1, dims[i], kernels[i] - 1]),
            ("cached_conv2", f, lambda i: [layers[i], 1, dims[i], kernels[i] - 1]),
        ]
        return [(f"{g}_{i}", t, shape(i)) for g, t, shape in groups for i in range(len(layers))]
    heads, qdims, vdims = (
        ints(meta, "num_heads"),
        ints(meta, "query_head_dims"),
        ints(meta, "value_head_dims"),
    )
    states: list[tuple[str, str, list[int]]] = []
    j = 0
    for i, n in enumerate(layers):
        for _ in range(n):
            states += [
                (f"cached_key_{j}", f, [left[i], 1, qdims[i] * heads[i]]),
                (f"cached_nonlin_attn_{j}", f, [1, 1, left[i], 3 * dims[i] // 4]),
                (f"cached_val1_{j}", f, [left[i], 1, vdims[i] * heads[i]]),
                (f"cached_val2_{j}", f, [left[i], 1, vdims[i] * heads[i]]),
                (f"cached_conv1_{j}", f, [1, dims[i], kernels[i] // 2]),
                (f"cached_conv2_{j}", f, [1, dims[i], kernels[i] // 2]),
            ]
            j += 1
    embed = ((FEATURE_DIM - 1) // 2 - 1) // 2
    return [*states, ("embed_states", f, [1, 128, 3, embed]), ("processed_lens", i64, [1])]


def session(path: Path) -> Any:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def io(values: list[Any]) -> list[tuple[str, str, list[int]]]:
    return [(v.name, v.type, [1 if isinstance(d, str) else d for d in v.shape]) for v in values]


@pytest.mark.parametrize("version", VERSIONS)
def test_graphs_have_the_real_names_dtypes_shapes_and_metadata(
    folders: Folders, version: int
) -> None:
    model = folders[(version, "han")]
    assert {p.name for p in model.path.iterdir()} == {
        "encoder-epoch-99-avg-1.int8.onnx",
        "decoder-epoch-99-avg-1.int8.onnx",
        "joiner-epoch-99-avg-1.int8.onnx",
        "tokens.txt",
    }
    encoder, decoder, joiner = (session(p) for p in (model.encoder, model.decoder, model.joiner))
    meta = encoder.get_modelmeta().custom_metadata_map
    model_type = {1: "zipformer", 2: "zipformer2"}[version]
    assert meta["model_type"] == model_type and meta["version"] == "1"
    assert {"model_author", "comment"} <= set(meta)
    assert int(meta["decode_chunk_len"]) == DECODE_CHUNK_LEN == 32
    assert int(meta["T"]) == CHUNK_FRAMES[version] == 32 + {1: 7, 2: 13}[version]
    stacks = len(ints(meta, "num_encoder_layers"))
    assert stacks == 2 and all(
        len(ints(meta, k)) == stacks for k in ("encoder_dims", "left_context_len")
    )
    states = sherpa_states(meta)
    assert len(states) == (
        7 * stacks if version == 1 else 6 * sum(ints(meta, "num_encoder_layers")) + 2
    )
    joiner_dim = int(joiner.get_modelmeta().custom_metadata_map["joiner_dim"])
    chunk_out = DECODE_CHUNK_LEN // 4
    assert io(encoder.get_inputs()) == [
        ("x", "tensor(float)", [1, int(meta["T"]), FEATURE_DIM]),
        *states,
    ]
    assert io(encoder.get_outputs()) == [
        ("encoder_out", "tensor(float)", [1, chunk_out, joiner_dim]),
        *((f"new_{name}", t, shape) for name, t, shape in states),
    ]
    # One symbolic (batch) axis per tensor, where sherpa stacks the streams' states.
    for value in encoder.get_inputs() + encoder.get_outputs():
        assert sum(isinstance(d, str) for d in value.shape) == 1, value
    dmeta = decoder.get_modelmeta().custom_metadata_map
    assert (int(dmeta["context_size"]), int(dmeta["vocab_size"])) == (2, len(VOCAB))
    assert io(decoder.get_inputs()) == [("y", "tensor(int64)", [1, 2])]
    assert io(decoder.get_outputs()) == [("decoder_out", "tensor(float)", [1, joiner_dim])]
    assert io(joiner.get_inputs()) == [
        ("encoder_out", "tensor(float)", [1, joiner_dim]),
        ("decoder_out", "tensor(float)", [1, joiner_dim]),
    ]
    assert io(joiner.get_outputs()) == [("logit", "tensor(float)", [1, len(VOCAB)])]


def test_tokens_file_is_in_the_real_format(folders: Folders) -> None:
    for model in folders.values():
        rows = [line.split(" ") for line in model.tokens.read_text(encoding="utf-8").splitlines()]
        assert [int(i) for _, i in rows] == list(range(len(VOCAB)))
        pieces = [p for p, _ in rows]
        assert pieces[:3] == [BLANK, "<sos/eos>", "<unk>"]
        words = [p for p in pieces if p.startswith("▁")]
        assert words and all(p[1:].isascii() and p[1:].isupper() for p in words)
        assert set(pieces) >= HAN


def zero_states(sess: Any) -> dict[str, np.ndarray]:
    dtype = {"tensor(float)": np.float32, "tensor(int64)": np.int64}
    return {name: np.zeros(shape, dtype[t]) for name, t, shape in io(sess.get_inputs()[1:])}


def loud_chunk(sess: Any, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = io(sess.get_inputs()[:1])[0][2]
    return (rng.standard_normal(shape) * 3.0 - 1.0).astype(np.float32)  # fbank-like, loud


def run(sess: Any, x: np.ndarray, states: dict[str, np.ndarray]) -> list[np.ndarray]:
    return list(sess.run(None, {"x": x, **states}))


@pytest.mark.parametrize("version", VERSIONS)
def test_the_encoder_uses_its_states(folders: Folders, version: int) -> None:
    sess = session(folders[(version, "han")].encoder)
    names = [v.name for v in sess.get_inputs()[1:]]
    # Carried state vs. a fresh one each chunk: the encoder output differs.
    states = zero_states(sess)
    carried = []
    for seed in range(4):
        out = run(sess, loud_chunk(sess, seed), states)
        carried.append(out[0])
        states = dict(zip(names, out[1:], strict=True))
    fresh = [run(sess, loud_chunk(sess, seed), zero_states(sess))[0] for seed in range(4)]
    assert np.array_equal(carried[0], fresh[0])
    assert not all(np.array_equal(a, b) for a, b in zip(carried[1:], fresh[1:], strict=True))
    # Every new state is a function of its old value (embed_states: only of the chunk, as the
    # real ConvNeXt cache of the chunk's last 3 frames).
    x = loud_chunk(sess, 9)
    base = run(sess, x, states)
    for k, name in enumerate(names):
        changed = dict(states)
        changed[name] = states[name] + np.ones_like(states[name])
        new = run(sess, x, changed)[1 + k]
        assert new.shape == states[name].shape and new.dtype == states[name].dtype
        if name == "embed_states":
            assert np.array_equal(new, base[1 + k])
        else:
            assert not np.array_equal(new, base[1 + k]), name


def test_the_decoder_depends_on_its_context(folders: Folders) -> None:
    sess = session(folders[(1, "han")].decoder)
    a, b = (VOCAB.index(p) for p in ("你", "好"))

    def out(y: list[int]) -> np.ndarray:
        return np.asarray(sess.run(None, {"y": np.array([y], np.int64)})[0])

    start = out([-1, 0])  # sherpa's initial context: padding, blank
    assert np.array_equal(start, out([0, 0]))  # negative ids are padding, like blank
    assert not np.array_equal(out([a, b]), out([b, a]))
    assert not np.array_equal(out([0, a]), start)
    assert not np.array_equal(out([a, 0]), start)


# --- broken folders fail -----------------------------------------------------------------------


def copy_folder(model: TinyZipformer, dst: Path) -> TinyZipformer:
    dst.mkdir()
    for f in model.path.iterdir():
        shutil.copy(f, dst / f.name)
    return TinyZipformer(
        dst,
        dst / model.encoder.name,
        dst / model.decoder.name,
        dst / model.joiner.name,
        dst / model.tokens.name,
        model.version,
        model.script,
    )


@pytest.mark.parametrize(
    ("version", "key"), [(1, "T"), (1, "attention_dims"), (2, "T"), (2, "num_heads")]
)
def test_missing_encoder_metadata_makes_sherpa_exit(
    folders: Folders, tmp_path: Path, version: int, key: str
) -> None:
    # sherpa-onnx calls exit() instead of raising, so probe it in another process.
    model = copy_folder(folders[(version, "han")], tmp_path / "m")
    with_metadata(model.encoder, model.encoder, **{key: None})
    script = (
        "import sys, sherpa_onnx\n"
        "sherpa_onnx.OnlineRecognizer.from_transducer(tokens=sys.argv[1], encoder=sys.argv[2],\n"
        "    decoder=sys.argv[3], joiner=sys.argv[4], num_threads=1, sample_rate=16000,\n"
        "    feature_dim=80, decoding_method='greedy_search', enable_endpoint_detection=False)\n"
        "print('loaded')\n"
    )
    args = [str(p) for p in (model.tokens, model.encoder, model.decoder, model.joiner)]
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "loaded" not in done.stdout
    assert f"'{key}' does not exist in the metadata" in done.stderr


@pytest.mark.parametrize(
    ("version", "swap"),
    [(1, ("cached_len_0", "cached_avg_0")), (2, ("cached_key_0", "cached_val1_0"))],
)
def test_states_in_the_wrong_order_fail_to_decode(
    folders: Folders, tmp_path: Path, version: int, swap: tuple[str, str]
) -> None:
    model = folders[(version, "han")]
    names = [v.name for v in session(model.encoder).get_inputs()]
    i, j = names.index(swap[0]), names.index(swap[1])
    names[i], names[j] = names[j], names[i]
    broken = with_input_order(model.encoder, tmp_path / model.encoder.name, names)
    recognizer = load(model, encoder=broken)  # loads: sherpa reads only metadata and names
    stream = recognizer.create_stream()
    stream.accept_waveform(RATE, noise(1.0, level=0.1))
    with pytest.raises(RuntimeError, match="input"):
        while recognizer.is_ready(stream):
            recognizer.decode_stream(stream)


@pytest.mark.parametrize("version", VERSIONS)
def test_same_shaped_states_swapped_decode_to_other_text(
    folders: Folders, recognizers: Callable[[int, str], Any], tmp_path: Path, version: int
) -> None:
    model = folders[(version, "han")]
    names = [v.name for v in session(model.encoder).get_inputs()]
    i, j = names.index("cached_conv1_0"), names.index("cached_conv2_0")
    names[i], names[j] = names[j], names[i]
    broken = with_input_order(model.encoder, tmp_path / model.encoder.name, names)
    sound = loud_sounds()
    right = transcribe(recognizers(version, "han"), sound)[0]
    wrong = transcribe(load(model, encoder=broken), sound)[0]
    assert right and wrong != right
