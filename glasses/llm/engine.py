"""The public entry point: load a model folder once, then stream chat completions."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glasses.accel import short_name
from glasses.llm.chat_template import ChatMessage, ChatPrompt, ChatTemplate
from glasses.llm.config import EngineConfig
from glasses.llm.errors import (
    ContextOverflowError,
    LlmError,
    ModelError,
    TextOnlyModelError,
    TokenizerMismatchError,
)
from glasses.llm.generator import (
    CancelToken,
    DecodeJob,
    GenerationOptions,
    GenerationResult,
    KvState,
)
from glasses.llm.graph_io import GraphIO, read_graph_io
from glasses.llm.graph_rewrite import prune_lm_head
from glasses.llm.heap import release_free_heap
from glasses.llm.runner import DecoderRunner
from glasses.llm.sampling import Sampler, SamplingConfig
from glasses.llm.session import create_session, onnxruntime
from glasses.llm.tokenizer import Tokenizer
from glasses.models.llm_folder import ModelFolder, open_model_folder
from glasses.onnx_wire.scan import scan_onnx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    architecture: str
    layout: str  # "genai" (shared KV buffer) or "optimum" (growing KV)
    num_layers: int
    context_tokens: int  # usable context: the model's, capped by EngineConfig
    vocab_size: int
    quantized: bool  # has MatMulNBits (int4/int8 weights)
    # The LM head scores only the last position (rewritten at load time, or built that way).
    last_position_logits: bool = False


class TextStream(Iterator[str]):
    """Text deltas of one generation; :attr:`result` is complete once iteration ends."""

    def __init__(self, chunks: Iterator[str], result: GenerationResult) -> None:
        self._chunks = chunks
        self.result = result

    def __next__(self) -> str:
        return next(self._chunks)

    def close(self) -> None:
        """Stop early (e.g. the user walked away) and release the engine."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class LlmEngine:
    """A decoder-only chat model (Qwen2 / Qwen3, Optimum or genai ONNX layout) on ORT."""

    accepts_images = False  # glasses.llm.vision.VisionLlmEngine reads pictures too

    def __init__(self, folder: ModelFolder, config: EngineConfig) -> None:
        summary = scan_onnx(folder.onnx_path)
        self.config = config
        self.folder = folder
        self.tokenizer = Tokenizer(folder.tokenizer_path)
        release_free_heap()  # the JSON parse's garbage, before the weights arrive
        self._session = self._create_session(folder, config)
        release_free_heap()
        io: GraphIO = read_graph_io(self._session, folder, frozenset(op for _, op in summary.ops))
        if self.tokenizer.vocab_size > io.logits_size:
            raise TokenizerMismatchError(
                f"tokenizer.json has {self.tokenizer.vocab_size} tokens but the model only "
                f"scores {io.logits_size}: tokenizer and model are from different releases"
            )
        self.template = ChatTemplate.from_folder(self.tokenizer, folder)
        cap = config.max_context_tokens or folder.context_length
        self.info = ModelInfo(
            path=folder.root,
            architecture=folder.architecture,
            layout="genai" if io.share_buffer else "optimum",
            num_layers=io.num_layers,
            context_tokens=min(cap, folder.context_length),
            vocab_size=io.logits_size,
            quantized=any(op == "MatMulNBits" for _, op in summary.ops),
            last_position_logits=io.last_position_logits,
        )
        self._runner = DecoderRunner(self._session, io, onnxruntime())
        self._kv = self._runner.new_cache(self.info.context_tokens)
        self._state = KvState(self._kv, reuse=config.prefix_cache)
        stop_ids = {*folder.eos_token_ids, self.template.im_end_id}
        self.stop_token_ids = frozenset(stop_ids)
        self.default_sampling = SamplingConfig.from_generation_config(folder.generation_defaults)

    @property
    def provider(self) -> str:
        """The execution provider the model really runs on: ``cuda``, ``tensorrt``, ``cpu``."""
        return short_name(self._session.get_providers()[0])

    def session_config_entry(self, key: str) -> str:
        """A config entry of the ONNX Runtime session as it was created, e.g.
        ``session.intra_op.allow_spinning`` ("0" or "1"); KeyError when it was never set."""
        try:
            return str(self._session.get_session_options().get_session_config_entry(key))
        except RuntimeError as exc:  # onnxruntime's error for a key never set
            raise KeyError(f"the model's session has no config entry {key!r}") from exc

    @staticmethod
    def _create_session(folder: ModelFolder, config: EngineConfig) -> Any:
        pruned = prune_lm_head(folder.onnx_path) if config.prune_lm_head else None
        if pruned is not None:
            try:
                return create_session(folder.onnx_path, config.session, pruned)
            except (
                LlmError,
                ModelError,
            ) as exc:  # the rewrite is an optimisation: never a reason to fail
                log.warning("%s: pruned LM head did not load (%s)", folder.onnx_path.name, exc)
        return create_session(folder.onnx_path, config.session)

    @classmethod
    def load(cls, model_dir: Path | str, config: EngineConfig | None = None) -> LlmEngine:
        config = config or EngineConfig()
        return cls(open_model_folder(model_dir, config.variant), config)

    def render(
        self, messages: Sequence[ChatMessage], *, enable_thinking: bool = False
    ) -> ChatPrompt:
        if not self.accepts_images and any(m.images for m in messages):
            self._refuse_images()
        prompt = self.template.render(messages, enable_thinking=enable_thinking)
        if len(prompt.ids) >= self.info.context_tokens:
            raise ContextOverflowError(
                f"the prompt is {len(prompt.ids)} tokens but the context holds "
                f"{self.info.context_tokens}: shorten the prompt or the chat history"
            )
        return prompt

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> TextStream:
        """Start generating; iterate the result for text deltas.  The engine is held only
        while a forward pass runs, not while a stream waits for its consumer: a stream left
        unconsumed (even still referenced) blocks no later one.  Streams consumed in turn
        interleave their forward passes and each gets the tokens it would get alone (the
        cache is handed back with its tokens, recomputed where another one overwrote them).
        The KV of the last generation (prompt and output) stays cached: the next prompt
        reuses its longest common token prefix, so a chat's next turn computes only the
        tokens that are new."""
        options = options or GenerationOptions()
        prompt = self.render(messages, enable_thinking=options.enable_thinking)
        return self.stream_prompt(prompt, options, cancel)

    def stream_prompt(
        self,
        prompt: ChatPrompt,
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> TextStream:
        """:meth:`stream` for a prompt already in token ids (``prompt.prefix_ids`` is the part
        the prefix cache may keep; empty for none)."""
        options = options or GenerationOptions()
        if prompt.images and not self.accepts_images:
            self._refuse_images()
        if not prompt.ids or len(prompt.ids) >= self.info.context_tokens:
            raise ContextOverflowError(
                f"the prompt is {len(prompt.ids)} tokens; the context holds "
                f"{self.info.context_tokens} and the prompt needs at least one"
            )
        if prompt.ids[: len(prompt.prefix_ids)] != prompt.prefix_ids:
            raise ValueError("prompt.ids must start with prompt.prefix_ids")
        sampling = options.sampling or self.default_sampling
        result = GenerationResult()
        return TextStream(
            self._run(prompt, options, sampling, cancel or CancelToken(), result), result
        )

    def _refuse_images(self) -> None:
        raise TextOnlyModelError(
            f"{self.info.path.name} is a text-only model and cannot look at pictures: load a "
            "vision-language model (glasses models pull qwen2-vl-2b-instruct-int4) for them"
        )

    def _sampler(self, sampling: SamplingConfig) -> Sampler:
        return Sampler(sampling, self.tokenizer.vocab_size)

    def generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> GenerationResult:
        stream = self.stream(messages, options, cancel)
        for _ in stream:
            pass
        return stream.result

    def clear_cache(self) -> None:
        """Forget every cached token: the next prompt is computed from its first token."""
        with self._state.lock:
            self._state.kv.reset()
            self._state.ids, self._state.owner, self._state.prefix = (), None, None

    def _run(
        self,
        prompt: ChatPrompt,
        options: GenerationOptions,
        sampling: SamplingConfig,
        cancel: CancelToken,
        result: GenerationResult,
    ) -> Iterator[str]:
        job = DecodeJob(
            runner=self._runner,
            tokenizer=self.tokenizer,
            state=self._state,
            prompt_ids=prompt.ids,
            prefix_ids=prompt.prefix_ids,
            sampler=self._sampler(sampling),
            stop_token_ids=self.stop_token_ids,
            options=options,
            capacity=self.info.context_tokens,
            chunk_tokens=max(1, self.config.prefill_chunk_tokens),
            cancel=cancel,
            result=result,
        )
        yield from job.run()
