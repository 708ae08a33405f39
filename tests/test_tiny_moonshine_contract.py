"""The tiny Moonshine folder (``asr_support.tiny_moonshine``) against sherpa-onnx itself.

No glasses recogniser is involved: these tests pin down that the builder's folder is one that
``sherpa_onnx.OfflineRecognizer.from_moonshine`` loads and decodes the way it does the
published ``sherpa-onnx-moonshine-tiny-en-int8`` folder, so the glasses tests built on it test
glasses rather than the fake.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from asr_support.tiny_moonshine import (
    DECODER_LAYERS,
    EOS,
    FILE_NAMES,
    GRAPH_IO,
    PART_NAMES,
    SAMPLE_STRIDE,
    SOS,
    STATE_NAMES,
    SUFFIXES,
    VOCAB,
    WORDS,
    TinyMoonshine,
    build_tiny_moonshine,
    frames_for,
    pieces_for,
    sherpa_max_len,
    text_of,
)
from perception_support.speech import have_espeak, noise, phrase, silence, tone

sherpa_onnx = pytest.importorskip("sherpa_onnx")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.model

RATE = 16_000
HELLO = "hello there"
LONGER = "Turn left at the next corner, then walk to the door and read the sign"
# what sherpa may put in result.tokens: each piece with its leading "▁" turned into a space
SHERPA_PIECES = {text_of([p]) for p in WORDS + SUFFIXES}
needs_espeak = pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed")

Decode = Callable[[np.ndarray], Any]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, TinyMoonshine]:
    root = tmp_path_factory.mktemp("tiny-moonshine")
    return {int8: build_tiny_moonshine(root / f"int8-{int8}", int8=int8) for int8 in (True, False)}


def recognizer(folder: TinyMoonshine) -> Any:
    return sherpa_onnx.OfflineRecognizer.from_moonshine(**folder.sherpa_kwargs(), num_threads=1)


@pytest.fixture(scope="module")
def decoders(folders: dict[bool, TinyMoonshine]) -> dict[bool, Decode]:
    """int8? -> audio -> sherpa's result (``.text``, ``.tokens``)."""

    def make(folder: TinyMoonshine) -> Decode:
        rec = recognizer(folder)

        def decode(audio: np.ndarray) -> Any:
            stream = rec.create_stream()
            stream.accept_waveform(RATE, np.ascontiguousarray(audio, dtype=np.float32))
            rec.decode_stream(stream)
            return stream.result

        return decode

    return {int8: make(folder) for int8, folder in folders.items()}


@pytest.fixture(scope="module")
def hello() -> np.ndarray:
    if not have_espeak():
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    return phrase(HELLO)


class Steps:
    """sherpa's greedy search, step by step, through onnxruntime."""

    def __init__(self, folder: TinyMoonshine) -> None:
        def session(path: Path) -> Any:
            return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        self.pre = session(folder.preprocessor)
        self.enc = session(folder.encoder)
        self.uncached = session(folder.uncached_decoder)
        self.cached = session(folder.cached_decoder)

    def encode(self, audio: np.ndarray) -> np.ndarray:
        features = self.pre.run(None, {"args_0": audio[None].astype(np.float32)})[0]
        frames = np.array([features.shape[1]], np.int32)
        out: np.ndarray = self.enc.run(None, {"args_0": features, "args_1": frames})[0]
        return out

    def first(self, encoder_out: np.ndarray) -> list[np.ndarray]:
        feed = {
            "args_0": np.array([[SOS]], np.int32),
            "args_1": encoder_out,
            "args_2": np.array([1], np.int32),
        }
        return list(self.uncached.run(None, feed))

    def next(
        self, token: int, seq_len: int, encoder_out: np.ndarray, states: list[np.ndarray]
    ) -> list[np.ndarray]:
        feed = {
            "args_0": np.array([[token]], np.int32),
            "args_1": encoder_out,
            "args_2": np.array([seq_len], np.int32),
            **{f"args_{3 + k}": s for k, s in enumerate(states)},
        }
        return list(self.cached.run(None, feed))


def test_folders_have_the_published_file_names(folders: dict[bool, TinyMoonshine]) -> None:
    for int8, folder in folders.items():
        assert sorted(p.name for p in folder.path.iterdir()) == sorted(FILE_NAMES[int8].values())
        assert folder.encoder.name == ("encode.int8.onnx" if int8 else "encode.onnx")
        assert folder.preprocessor.name == "preprocess.onnx"
    lines = folders[True].tokens.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["<unk>\t0", "<s>\t1", "</s>\t2"]  # piece<TAB>id, plain text
    assert [line.split("\t") for line in lines] == [[p, str(i)] for i, p in enumerate(VOCAB)]
    assert (VOCAB[SOS], VOCAB[EOS]) == ("<s>", "</s>")


@pytest.mark.parametrize("int8", [True, False], ids=["int8", "fp32"])
@pytest.mark.parametrize("seconds", [0.3, 1.0, 4.0])
def test_digital_silence_decodes_to_nothing(
    decoders: dict[bool, Decode], int8: bool, seconds: float
) -> None:
    result = decoders[int8](silence(seconds))
    assert result.text == "" and list(result.tokens) == []


@needs_espeak
@pytest.mark.parametrize("int8", [True, False], ids=["int8", "fp32"])
def test_speech_decodes_to_known_pieces(
    folders: dict[bool, TinyMoonshine], decoders: dict[bool, Decode], hello: np.ndarray, int8: bool
) -> None:
    result = decoders[int8](hello)
    tokens = list(result.tokens)
    assert tokens and set(tokens) <= SHERPA_PIECES
    assert tokens[0].startswith(" ")  # the first piece is a word start: "▁..." -> " ..."
    # sherpa concatenates the pieces; 2.0.1 drops the leading space, the 1.13 source keeps it
    assert result.text in ("".join(tokens), "".join(tokens).lstrip(" "))
    # one piece per FRAMES_PER_TOKEN loud frames, then </s> (not sherpa's max_len) ends it
    encoder_out = Steps(folders[int8]).encode(hello)
    loud = int(encoder_out[0, :, -1].sum())
    assert len(tokens) == pieces_for(loud) < sherpa_max_len(encoder_out.shape[1])
    assert decoders[int8](hello).text == result.text  # deterministic


@needs_espeak
def test_same_seed_same_text_other_seed_other_text(
    decoders: dict[bool, Decode], hello: np.ndarray, tmp_path: Path
) -> None:
    text = decoders[True](hello).text
    again = build_tiny_moonshine(tmp_path / "again", seed=0)
    other = build_tiny_moonshine(tmp_path / "other", seed=1)

    def decode(folder: TinyMoonshine) -> str:
        rec = recognizer(folder)
        stream = rec.create_stream()
        stream.accept_waveform(RATE, hello)
        rec.decode_stream(stream)
        return str(stream.result.text)

    assert decode(again) == text
    assert decode(other) != text


@needs_espeak
def test_more_speech_more_text_and_other_sounds_other_text(
    decoders: dict[bool, Decode], hello: np.ndarray
) -> None:
    decode = decoders[True]
    longer = phrase(LONGER)
    short, long = decode(hello), decode(longer)
    assert len(long.tokens) > len(short.tokens) >= 2
    # about one piece per 0.36 s of loud audio (FRAMES_PER_TOKEN frames), far below max_len
    seconds_per_piece = len(longer) / RATE / len(long.tokens)
    assert 0.3 <= seconds_per_piece <= 0.6
    assert len(long.tokens) <= sherpa_max_len(frames_for(len(longer))) / 2
    texts = {
        short.text,
        long.text,
        decode(noise(1.0)).text,
        decode(tone(1.0, 440)).text,
        decode(tone(1.0, 1000)).text,
    }
    assert "" not in texts and len(texts) == 5


def test_graphs_have_the_documented_inputs_and_outputs(folders: dict[bool, TinyMoonshine]) -> None:
    for folder in folders.values():
        for part in PART_NAMES:
            session = ort.InferenceSession(
                str(getattr(folder, part)), providers=["CPUExecutionProvider"]
            )
            inputs, outputs = GRAPH_IO[part]
            got_in = [(i.name, i.type, i.shape) for i in session.get_inputs()]
            got_out = [(o.name, o.type, o.shape) for o in session.get_outputs()]
            assert got_in == [tuple(spec) for spec in inputs], (folder.path.name, part)
            assert got_out == [tuple(spec) for spec in outputs], (folder.path.name, part)
    names = [i[0] for i in GRAPH_IO["cached_decoder"][0]]
    assert names == [f"args_{k}" for k in range(3 + 4 * DECODER_LAYERS)]
    assert [o[0] for o in GRAPH_IO["uncached_decoder"][1][1:5]] == [
        "cache_k_0",
        "cache_v_0",
        "x_attn_cache_k_0",
        "x_attn_cache_v_0",
    ]


def test_int8_folder_quantises_the_three_big_graphs(folders: dict[bool, TinyMoonshine]) -> None:
    int8, fp32 = folders[True], folders[False]
    for part in ("encoder", "uncached_decoder", "cached_decoder"):
        ops = {n.op_type for n in onnx.load(str(getattr(int8, part))).graph.node}
        assert "MatMulInteger" in ops, part
        assert "MatMulInteger" not in {
            n.op_type for n in onnx.load(str(getattr(fp32, part))).graph.node
        }
    assert int8.preprocessor.read_bytes() == fp32.preprocessor.read_bytes()


def test_frames_and_caches_have_the_real_shapes(folders: dict[bool, TinyMoonshine]) -> None:
    steps = Steps(folders[False])
    audio = noise(1.0)
    encoder_out = steps.encode(audio)
    frames = encoder_out.shape[1]
    assert frames == frames_for(len(audio)) and abs(frames - len(audio) / SAMPLE_STRIDE) < 3
    logits, *states = steps.first(encoder_out)
    assert logits.shape == (1, 1, len(VOCAB)) and len(states) == len(STATE_NAMES)
    token = int(logits.argmax())
    assert token != EOS
    logits2, *states2 = steps.next(token, 2, encoder_out, states)
    assert logits2.shape == logits.shape
    for name, before, after in zip(STATE_NAMES, states, states2, strict=True):
        if name.startswith("cache_"):  # self-attention: one position longer
            assert before.shape[1] == 1 and after.shape[1] == 2, name
            np.testing.assert_array_equal(after[:, :1], before)
        else:  # cross-attention: one position per encoder frame, passed on unchanged
            assert before.shape[1] == frames, name
            np.testing.assert_array_equal(after, before)


def test_first_step_is_eos_for_silence_only(folders: dict[bool, TinyMoonshine]) -> None:
    steps = Steps(folders[True])
    for seconds in (0.3, 3.0):
        assert int(steps.first(steps.encode(silence(seconds)))[0].argmax()) == EOS
    assert int(steps.first(steps.encode(tone(0.5, 300)))[0].argmax()) != EOS


def test_cached_decoder_reads_every_state(folders: dict[bool, TinyMoonshine]) -> None:
    steps = Steps(folders[False])
    encoder_out = steps.encode(noise(2.0))
    logits, *states = steps.first(encoder_out)
    token = int(logits.argmax())
    reference = steps.next(token, 2, encoder_out, states)[0]
    rng = np.random.default_rng(0)
    for k, name in enumerate(STATE_NAMES):
        changed = list(states)
        changed[k] = rng.permutation(states[k].ravel()).reshape(states[k].shape)
        got = steps.next(token, 2, encoder_out, changed)[0]
        assert np.abs(got - reference).max() > 1e-3, name


def _edited_folder(src: TinyMoonshine, dst: Path, edit: Callable[[Any], None]) -> TinyMoonshine:
    shutil.copytree(src.path, dst)
    cached = dst / src.cached_decoder.name
    model = onnx.load(str(cached))
    edit(model.graph)
    onnx.save(model, str(cached))
    return _folder_at(dst, int8=src.encoder.name.endswith(".int8.onnx"))


def _folder_at(folder: Path, *, int8: bool) -> TinyMoonshine:
    names = FILE_NAMES[int8]
    return TinyMoonshine(folder, *(folder / names[p] for p in (*PART_NAMES, "tokens")))


@needs_espeak
def test_states_in_the_wrong_order_change_the_text(
    folders: dict[bool, TinyMoonshine], decoders: dict[bool, Decode], tmp_path: Path
) -> None:
    def swap_cross_attention_k_and_v(graph: Any) -> None:
        k, v = (3 + STATE_NAMES.index(n) for n in ("x_attn_cache_k_0", "x_attn_cache_v_0"))
        first, second = onnx.ValueInfoProto(), onnx.ValueInfoProto()
        first.CopyFrom(graph.input[k])
        second.CopyFrom(graph.input[v])
        graph.input[k].CopyFrom(second)  # sherpa feeds by position: k goes where v is read
        graph.input[v].CopyFrom(first)

    folder = _edited_folder(folders[True], tmp_path / "swapped", swap_cross_attention_k_and_v)
    longer = phrase(LONGER)
    rec = recognizer(folder)
    stream = rec.create_stream()
    stream.accept_waveform(RATE, longer)
    rec.decode_stream(stream)
    assert stream.result.text != decoders[True](longer).text


@needs_espeak
def test_a_missing_state_breaks_decoding(
    folders: dict[bool, TinyMoonshine], decoders: dict[bool, Decode], tmp_path: Path
) -> None:
    def drop_last_state(graph: Any) -> None:
        dropped, stand_in = graph.input[-1].name, graph.input[-2].name  # same shape
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == dropped:
                    node.input[i] = stand_in
        graph.input.pop()

    folder = _edited_folder(folders[True], tmp_path / "dropped", drop_last_state)
    audio = tmp_path / "longer.npy"
    longer = phrase(LONGER)
    np.save(audio, longer)
    # sherpa then passes one more state than the graph has inputs: it may log an onnxruntime
    # error and return empty text, or worse, so run it in another process.
    script = (
        "import sys, numpy as np, sherpa_onnx\n"
        "names = ['preprocessor', 'encoder', 'uncached_decoder', 'cached_decoder', 'tokens']\n"
        "rec = sherpa_onnx.OfflineRecognizer.from_moonshine(**dict(zip(names, sys.argv[1:6])))\n"
        "stream = rec.create_stream()\n"
        "stream.accept_waveform(16000, np.load(sys.argv[6]))\n"
        "rec.decode_stream(stream)\n"
        "print('TEXT=' + stream.result.text)\n"
    )
    args = [*folder.sherpa_kwargs().values(), str(audio)]
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
    )
    expected = decoders[True](longer).text
    assert expected
    assert done.returncode != 0 or f"TEXT={expected}\n" not in done.stdout, done.stdout
