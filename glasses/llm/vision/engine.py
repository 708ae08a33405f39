"""``VisionLlmEngine``: the text engine, whose token embeddings come from ``embed_tokens`` and
whose prompts may show pictures (Qwen2-VL, onnx-community's three-graph layout).

Everything after the embeddings is the text engine's: the decode loop, KV cache, IO binding,
prefix cache, sampling, stop strings, cancel, deadline and UTF-8-safe streaming.  A picture is
prepared when the prompt is rendered (decode, resize, patches: its tokens are then known) and
encoded by the vision graph only when a forward pass first needs its tokens, so a follow-up
question about the same picture reuses the cached prompt and never encodes it again.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from glasses.llm.chat_template import ChatMessage, ChatPrompt, ChatTemplate, read_chat_template
from glasses.llm.config import EngineConfig
from glasses.llm.engine import LlmEngine, ModelInfo, TextStream
from glasses.llm.errors import (
    ContextOverflowError,
    LlmError,
    ModelFileError,
    TokenizerMismatchError,
    UnsupportedModelError,
)
from glasses.llm.generator import CancelToken, GenerationOptions, KvState
from glasses.llm.heap import release_free_heap
from glasses.llm.sampling import Sampler, SamplingConfig
from glasses.llm.session import create_session, onnxruntime
from glasses.llm.tokenizer import Tokenizer
from glasses.llm.vision.embedding import open_embedding
from glasses.llm.vision.graphs import check_vision_encoder, read_decoder_io
from glasses.llm.vision.mrope import Grid, MropeIndex, split_virtual, virtual_id
from glasses.llm.vision.preprocess import PreparedImage, prepare_image
from glasses.llm.vision.run_options import encode_options
from glasses.llm.vision.runner import VisionDecoderRunner
from glasses.models.llm_folder import read_json
from glasses.models.vlm_folder import VisionModelFolder, open_vision_folder
from glasses.onnx_wire.scan import scan_onnx

_KNOWN_IMAGES = 4096  # picture digest -> number entries kept (a few ints each)


@dataclass(frozen=True)
class VisionConfig:
    """How pictures are read."""

    # Pixel budget per picture (the image processor's max_pixels): fewer pixels, fewer image
    # tokens (one per 28 x 28 pixels), so a Pi answers sooner; None keeps the model's own.
    max_pixels: int | None = None
    cached_images: int = 4  # encoded pictures kept for follow-up questions
    # Hand the encoder's arena back after each picture (vision/run_options.py): the peak then
    # is the largest encode alone, not its buffers kept under every later prefill.
    shrink_encoder_arena: bool = True


class _VisionSampler(Sampler):
    """The repetition penalty sees a picture's tokens as ``<|image_pad|>``, as transformers
    does (the engine's sequences hold virtual ids there)."""

    def __init__(self, config: SamplingConfig, valid_vocab: int, image_token_id: int) -> None:
        super().__init__(config, valid_vocab)
        self._image_token_id = image_token_id

    def _seen_tokens(self, context: Iterable[int]) -> set[int]:
        return {t if t >= 0 else self._image_token_id for t in super()._seen_tokens(context)}


def _template_source(folder: VisionModelFolder) -> str:
    try:
        return read_chat_template(folder.root, folder.text.tokenizer_config)
    except ModelFileError:
        path = folder.root / "chat_template.json"  # the processor's copy (transformers)
        if not path.is_file():
            raise
        source = read_json(path).get("chat_template")
        if not isinstance(source, str) or not source:
            raise ModelFileError(f"{path} has no 'chat_template' string") from None
        return source


class VisionLlmEngine(LlmEngine):
    """A Qwen2-VL model on ONNX Runtime: :meth:`stream` / :meth:`generate` take chats whose
    messages may carry ``images``; text-only chats work as with :class:`LlmEngine`."""

    accepts_images = True

    def __init__(
        self, folder: VisionModelFolder, config: EngineConfig, vision: VisionConfig | None = None
    ) -> None:
        text = folder.text
        self.config, self.folder, self.vision_folder = config, text, folder
        self.vision = vision or VisionConfig()
        self.tokenizer = Tokenizer(text.tokenizer_path)
        self.template = ChatTemplate(
            self.tokenizer, _template_source(folder), text.tokenizer_config
        )
        release_free_heap()
        summary = scan_onnx(folder.decoder_path)
        self._session = self._create_session(text, config)
        self._embedding = open_embedding(
            folder.embed_tokens_path, config.session, folder.hidden_size
        )
        self._vision_session = create_session(folder.vision_encoder_path, config.session)
        release_free_heap()
        check_vision_encoder(self._vision_session, folder.vision_encoder_path.name)
        io = read_decoder_io(self._session, folder)
        if self.tokenizer.vocab_size > io.logits_size:
            raise TokenizerMismatchError(
                f"tokenizer.json has {self.tokenizer.vocab_size} tokens but the model only "
                f"scores {io.logits_size}: tokenizer and model are from different releases"
            )
        cap = config.max_context_tokens or text.context_length
        self.info = ModelInfo(
            path=folder.root,
            architecture=text.architecture,
            layout="vision",
            num_layers=io.num_layers,
            context_tokens=min(cap, text.context_length),
            vocab_size=io.logits_size,
            quantized=any(op == "MatMulNBits" for _, op in summary.ops),
            last_position_logits=io.last_position_logits,
        )
        self._lock = threading.Lock()  # the picture registries below
        self._numbers: OrderedDict[bytes, int] = OrderedDict()  # digest -> image number
        self._grids: dict[int, Grid] = {}  # image number -> merged grid
        self._live: weakref.WeakValueDictionary[int, PreparedImage] = weakref.WeakValueDictionary()
        self._encoded: OrderedDict[int, npt.NDArray[np.float32]] = OrderedDict()
        self._runner = VisionDecoderRunner(
            self._session,
            io,
            onnxruntime(),
            embedding=self._embedding,
            hidden_size=folder.hidden_size,
            features=self._features,
            positions=MropeIndex(self._grid),
            cached_ids=lambda: self._state.ids,
            shrink_encoder_arena=self.vision.shrink_encoder_arena,
        )
        self._kv = self._runner.new_cache(self.info.context_tokens)
        self._state = KvState(self._kv, reuse=config.prefix_cache)
        self.stop_token_ids = frozenset({*text.eos_token_ids, self.template.im_end_id})
        self.default_sampling = SamplingConfig.from_generation_config(text.generation_defaults)

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        config: EngineConfig | None = None,
        vision: VisionConfig | None = None,
    ) -> VisionLlmEngine:
        config = config or EngineConfig()
        return cls(open_vision_folder(model_dir, config.variant), config, vision)

    def prepare(self, source: Any) -> PreparedImage:
        """One picture decoded, resized and cut into patches (under the pixel budget)."""
        return prepare_image(source, self.vision_folder.image, max_pixels=self.vision.max_pixels)

    def render(
        self, messages: Sequence[ChatMessage], *, enable_thinking: bool = False
    ) -> ChatPrompt:
        """The prompt in token ids, with each picture's ``<|image_pad|>`` widened to its tokens
        (virtual ids); the pictures are prepared here, encoded when generation needs them."""
        images = tuple(self.prepare(src) for m in messages for src in m.images)
        prompt = self.template.render(messages, enable_thinking=enable_thinking)
        pad = self.vision_folder.image_token_id
        spots = [i for i, t in enumerate(prompt.ids) if t == pad]
        if len(spots) != len(images):
            raise UnsupportedModelError(
                f"the chat template wrote {len(spots)} picture placeholders for {len(images)} "
                "pictures: it is not a Qwen2-VL template"
            )
        ids: list[int] = []
        prefix_len, start = -1, 0
        for spot, image in zip([*spots, len(prompt.ids)], [*images, None], strict=True):
            if start <= len(prompt.prefix_ids) <= spot and prefix_len < 0:
                prefix_len = len(ids) + len(prompt.prefix_ids) - start
            ids += prompt.ids[start:spot]
            if image is not None:
                number = self._register(image)
                ids += [virtual_id(number, row) for row in range(image.num_tokens)]
            start = spot + 1
        if len(ids) >= self.info.context_tokens:
            raise ContextOverflowError(
                f"the prompt is {len(ids)} tokens ({sum(i.num_tokens for i in images)} of them "
                f"for {len(images)} pictures) but the context holds {self.info.context_tokens}: "
                "lower the pixel budget (max_pixels), show fewer pictures or shorten the chat"
            )
        return ChatPrompt(tuple(ids[: max(prefix_len, 0)]), tuple(ids), images)

    def stream_prompt(
        self,
        prompt: ChatPrompt,
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> TextStream:
        """:meth:`LlmEngine.stream_prompt` for a prompt from :meth:`render` (its pictures must
        be the ones its virtual ids name)."""
        numbers = {self._register(image) for image in prompt.images}
        named = {split_virtual(t)[0] for t in prompt.ids if t < 0}
        if not named <= numbers:
            raise LlmError("the prompt names pictures it does not carry: render it again")
        return super().stream_prompt(prompt, options, cancel)

    def clear_cache(self) -> None:
        super().clear_cache()
        with self._lock:
            self._encoded.clear()

    def _sampler(self, sampling: SamplingConfig) -> Sampler:
        return _VisionSampler(
            sampling, self.tokenizer.vocab_size, self.vision_folder.image_token_id
        )

    def _register(self, image: PreparedImage) -> int:
        with self._lock:
            number = self._numbers.get(image.digest)
            if number is None:
                number = len(self._grids)
                self._numbers[image.digest] = number
                self._grids[number] = image.llm_grid
                while len(self._numbers) > _KNOWN_IMAGES:
                    self._numbers.popitem(last=False)  # its number is never reused
            self._numbers.move_to_end(image.digest)
            self._live[number] = image
            return number

    def _grid(self, number: int) -> Grid:
        return self._grids[number]

    def _features(self, number: int, run_options: Any) -> npt.NDArray[np.float32]:
        """The picture's features [tokens, hidden], encoded on first use (lock-free run)."""
        with self._lock:
            cached = self._encoded.get(number)
            image = self._live.get(number)
        if cached is not None:
            return cached
        if image is None:
            raise LlmError("a picture of the prompt is no longer held: render the prompt again")
        grid = np.asarray([image.grid_thw], dtype=np.int64)
        (features,) = self._vision_session.run(
            ["image_features"],
            {"pixel_values": image.pixel_values, "grid_thw": grid},
            encode_options(run_options),
        )
        expected = (image.num_tokens, self.vision_folder.hidden_size)
        if features.shape != expected:
            raise UnsupportedModelError(
                f"{self.vision_folder.vision_encoder_path.name} gave features {features.shape} "
                f"for a {image.grid_thw} grid; the decoder needs {expected}"
            )
        features = np.ascontiguousarray(features, dtype=np.float32)
        with self._lock:
            self._encoded[number] = features
            while len(self._encoded) > max(1, self.vision.cached_images):
                self._encoded.popitem(last=False)
        return features
