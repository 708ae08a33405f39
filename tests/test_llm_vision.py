"""The vision-language engine on a tiny three-graph Qwen2-VL built with onnx alone (conftest's
``vlm_folder``): pictures change the answer, the prefix cache keeps a picture for a follow-up
question and never mistakes another picture for it, the pixel budget bounds the picture's
tokens, and every way a picture, a folder or a prompt can be wrong fails with an error that
says what.  Numerics against transformers: test_llm_vision_torch.py."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glasses.llm import (
    CancelToken,
    ChatMessage,
    ChatPrompt,
    ContextOverflowError,
    EngineConfig,
    GenerationOptions,
    LlmEngine,
    LlmError,
    ModelFileError,
    SamplingConfig,
    UnsupportedModelError,
)
from glasses.llm.errors import TextOnlyModelError
from glasses.llm.vision import ImageError, VisionConfig, VisionLlmEngine, load_engine
from glasses.models.folder_info import inspect_folder

pytestmark = pytest.mark.model

GREEDY = GenerationOptions(max_new_tokens=6, sampling=SamplingConfig(greedy=True))


def picture(seed: int, width: int = 80, height: int = 60) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def ask(image: object, text: str = "What is it?") -> list[ChatMessage]:
    return [ChatMessage("user", text, images=(image,))]


@pytest.fixture(scope="module")
def engine(vlm_folder: Path) -> VisionLlmEngine:
    return VisionLlmEngine.load(vlm_folder)


def test_pictures_change_the_answer_and_the_cache_tells_them_apart(
    engine: VisionLlmEngine,
) -> None:
    engine.clear_cache()
    first = engine.generate(ask(picture(1)), GREEDY)
    second = engine.generate(ask(picture(2)), GREEDY)
    again = engine.generate(ask(picture(2)), GREEDY)
    assert first.token_ids != second.token_ids
    assert again.token_ids == second.token_ids
    assert first.timings and second.timings and again.timings
    prompt = engine.render(ask(picture(2)))
    before_picture = next(i for i, t in enumerate(prompt.ids) if t < 0)
    # Another picture: the cache stops where the pictures differ; the same one: all of it.
    assert second.timings.cached_prompt_tokens == before_picture
    assert again.timings.cached_prompt_tokens == len(prompt.ids) - 1
    engine.clear_cache()
    assert engine.generate(ask(picture(2)), GREEDY).token_ids == second.token_ids


def test_same_picture_in_any_form_gives_the_same_tokens(engine: VisionLlmEngine) -> None:
    array = picture(3)
    png = io.BytesIO()
    Image.fromarray(array).save(png, format="PNG")
    forms = (array, Image.fromarray(array), png.getvalue())
    prompts = [engine.render(ask(form)) for form in forms]
    assert prompts[0].ids == prompts[1].ids == prompts[2].ids
    assert (
        sum(1 for t in prompts[0].ids if t < 0) == prompts[0].images[0].num_tokens == 6
    )  # 56 x 84


def test_text_only_chats_work_on_a_vision_model(engine: VisionLlmEngine) -> None:
    result = engine.generate([ChatMessage("user", "Hello")], GREEDY)
    assert len(result.token_ids) == GREEDY.max_new_tokens
    assert not engine.render([ChatMessage("user", "Hello")]).images


def test_the_pixel_budget_bounds_the_picture_tokens(vlm_folder: Path) -> None:
    small = VisionLlmEngine.load(vlm_folder, vision=VisionConfig(max_pixels=28 * 28 * 4))
    default = VisionLlmEngine.load(vlm_folder)
    big = picture(4, 200, 200)
    assert small.render(ask(big)).images[0].num_tokens == 4
    assert default.render(ask(big)).images[0].num_tokens == 16  # 112 x 112 within 28*28*20
    assert len(default.render(ask(big)).ids) - len(small.render(ask(big)).ids) == 12


def test_a_cancelled_generation_stops(engine: VisionLlmEngine) -> None:
    cancel = CancelToken()
    cancel.cancel()
    assert engine.generate(ask(picture(5)), GREEDY, cancel).finish_reason == "cancelled"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (b"not a picture at all", "cannot be decoded as a picture"),
        (Path("/nonexistent/photo.jpg"), "does not exist"),
        (np.zeros((10, 10, 3), dtype=np.uint8), "shorter than one 14-pixel patch"),
        (np.zeros((14, 3000, 3), dtype=np.uint8), "crop it first"),
        (np.zeros((40, 40), dtype=np.float32), "H x W x 3 uint8 RGB"),
    ],
)
def test_pictures_the_model_cannot_take(
    engine: VisionLlmEngine, source: object, words: str
) -> None:
    with pytest.raises(ImageError, match=words):
        engine.render(ask(source))


def test_a_prompt_too_long_for_the_context_names_the_pictures(vlm_folder: Path) -> None:
    tight = VisionLlmEngine.load(vlm_folder, EngineConfig(max_context_tokens=24))
    with pytest.raises(ContextOverflowError, match="pixel budget"):
        tight.render(ask(picture(6)))


def test_a_prompt_naming_pictures_it_does_not_carry(engine: VisionLlmEngine) -> None:
    prompt = engine.render(ask(picture(7)))
    with pytest.raises(LlmError, match="does not carry"):
        engine.stream_prompt(ChatPrompt(prompt.prefix_ids, prompt.ids))


def test_a_folder_missing_a_graph(vlm_folder: Path, tmp_path: Path) -> None:
    broken = shutil.copytree(vlm_folder, tmp_path / "broken")
    (broken / "onnx" / "vision_encoder.onnx").unlink()
    with pytest.raises(ModelFileError, match=r"vision_encoder graph onnx/vision_encoder\.onnx"):
        VisionLlmEngine.load(broken)
    info = inspect_folder(broken)
    assert any("vision_encoder" in problem for problem in info.problems)
    assert "vision-language" in inspect_folder(vlm_folder).summary
    assert not inspect_folder(vlm_folder).problems


def test_a_graph_with_the_wrong_contract(vlm_folder: Path, tmp_path: Path) -> None:
    swapped = shutil.copytree(vlm_folder, tmp_path / "swapped")
    shutil.copyfile(
        swapped / "onnx" / "embed_tokens.onnx", swapped / "onnx" / "vision_encoder.onnx"
    )
    with pytest.raises(UnsupportedModelError, match="pixel_values"):
        VisionLlmEngine.load(swapped)


def test_a_text_only_model_refuses_pictures(vlm_folder: Path, tmp_path: Path) -> None:
    from llm_support.optimum_export import build_optimum_model
    from llm_support.tiny_qwen import hf_config, qwen2_config, random_weights

    folder = tmp_path / "text"
    (folder / "onnx").mkdir(parents=True)
    cfg = qwen2_config()
    build = build_optimum_model(cfg, random_weights(cfg))
    import onnx

    onnx.save_model(build, str(folder / "onnx" / "model.onnx"))
    (folder / "config.json").write_text(json.dumps(hf_config(cfg)), encoding="utf-8")
    shutil.copyfile(vlm_folder / "tokenizer.json", folder / "tokenizer.json")
    shutil.copyfile(vlm_folder / "tokenizer_config.json", folder / "tokenizer_config.json")
    text = load_engine(folder)
    assert type(text) is LlmEngine
    # The runtime reads the picture's text when it meets this refusal (glasses.runtime.picture_text).
    with pytest.raises(TextOnlyModelError, match="text-only model and cannot look"):
        text.generate(ask(picture(8)), GREEDY)
    vision = VisionLlmEngine.load(vlm_folder)
    with pytest.raises(TextOnlyModelError, match="cannot look at pictures"):
        text.stream_prompt(vision.render(ask(picture(8))))
    assert isinstance(load_engine(vlm_folder), VisionLlmEngine)


def test_glasses_llm_generate_runs_a_vision_model_in_text(
    vlm_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`glasses llm generate --model VLM_FOLDER` opens the folder with the vision engine (the
    text engine refuses its architecture) and answers a text prompt."""
    from glasses.cli import main

    args = ["llm", "generate", "--model", str(vlm_folder), "--prompt", "Hi", "--greedy"]
    assert main([*args, "--max-new-tokens", "4", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["token_ids"], answer
