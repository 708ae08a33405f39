"""What each engine's child process measures: glasses' ``VisionLlmEngine`` on the int4 folder,
and transformers' ``Qwen2VLForConditionalGeneration`` (float32, CPU) on the same weights.

Both take the same JPEG of each size (Pillow's drawn product on a shelf, encoded as the daemon
encodes a camera still), ask the same question and time the same span from the button press:
picture prepare (JPEG decode, resize, patches, the prompt's tokens), image encode, prefill and
the first token.  Encode time is read inside that run (glasses: the vision session's own
``run``; transformers: hooks around ``model.visual``), prefill is the rest of the first token's
time.  Decode is timed on the decode size's picture, greedy.
"""

from __future__ import annotations

import importlib.metadata
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .arena import Arena, drop_arena, set_shrink, time_pairs


@dataclass(frozen=True)
class Plan:
    sizes: tuple[tuple[int, int], ...] = ((224, 224), (448, 448), (640, 480))
    decode_size: tuple[int, int] = (448, 448)
    question: str = "What is this?"
    decode_tokens: int = 32
    threads: int = 2
    reps: int = 1
    encoder_arena: Arena = "shrink"  # VisionConfig's default; arena.py says what each does
    arena_pairs: int = 0  # the "glasses-pairs" worker's pairs of each arena setting per size


@dataclass
class SizeResult:
    picture_tokens: int = 0
    prompt_tokens: int = 0
    prepare_s: float = 0.0
    encode_s: float = 0.0
    prefill_s: float = 0.0  # the decoder's prompt pass and first token, encode excluded
    ttft_s: float = 0.0  # prepare + encode + prefill + first token


@dataclass
class WorkerResult:
    engine: str
    version: str
    load_s: float = 0.0
    rss_after_load: int = 0
    sizes: dict[str, dict[str, float]] = field(default_factory=dict)  # "WxH" -> SizeResult
    decode_tokens_per_s: float = 0.0
    peak_rss: int = 0
    notes: list[str] = field(default_factory=list)
    # "glasses-pairs": the second encode of each pair (s), by picture size and arena setting
    encode_pairs: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def size_key(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def picture_jpeg(size: tuple[int, int]) -> bytes:
    from glasses.runtime import media
    from glasses.sources.jpeg import encode_jpeg

    return encode_jpeg(media.product_image(*size), max_side_px=max(size)).data


def _status_bytes(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_bytes() -> int:
    """VmHWM: this address space's own peak, unlike ru_maxrss (which a child inherits)."""
    return _status_bytes("VmHWM")


def _best(runs: list[SizeResult]) -> dict[str, float]:
    return asdict(min(runs, key=lambda r: r.ttft_s))


class _TimedSession:
    """An ONNX Runtime session whose ``run`` calls are timed (the vision encoder's)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.run_s: list[float] = []

    def run(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            self.run_s.append(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class GlassesRig:
    """glasses' engine on ``model`` as ``plan`` says, its vision encoder's runs timed."""

    def __init__(self, model: Path, plan: Plan) -> None:
        from glasses.llm import EngineConfig, SessionConfig
        from glasses.llm.vision import VisionConfig, VisionLlmEngine

        self.out = WorkerResult("glasses", importlib.metadata.version("glasses-runtime"))
        started = time.perf_counter()
        config = EngineConfig(session=SessionConfig(intra_op_threads=plan.threads), variant="q4")
        shrink = plan.encoder_arena == "shrink"
        vision = VisionConfig(cached_images=1, shrink_encoder_arena=shrink)
        self.engine = VisionLlmEngine.load(model, config, vision)
        if plan.encoder_arena == "off":
            drop_arena(self.engine)
        self.out.load_s = time.perf_counter() - started
        self.out.rss_after_load = _status_bytes("VmRSS")
        self.timed = _TimedSession(self.engine._vision_session)
        self.engine._vision_session = self.timed
        self.question = plan.question

    def ask(self, jpeg: bytes, new_tokens: int) -> tuple[SizeResult, Any]:
        from glasses.llm import ChatMessage, GenerationOptions, SamplingConfig

        engine = self.engine
        engine.clear_cache()  # nothing cached: neither the picture's features nor the prompt
        self.timed.run_s.clear()
        started = time.perf_counter()
        prompt = engine.render([ChatMessage("user", self.question, images=(jpeg,))])
        prepare_s = time.perf_counter() - started
        options = GenerationOptions(new_tokens, SamplingConfig(greedy=True))
        stream = engine.stream_prompt(prompt, options)
        for _ in stream:
            pass
        t = stream.result.timings
        assert t is not None  # a finished stream is always timed
        encode_s = sum(self.timed.run_s)
        row = SizeResult(
            picture_tokens=prompt.images[0].num_tokens,
            prompt_tokens=len(prompt.ids),
            prepare_s=prepare_s,
            encode_s=encode_s,
            prefill_s=t.time_to_first_token_s - encode_s,
            ttft_s=prepare_s + t.time_to_first_token_s,
        )
        return row, stream.result


def run_glasses(model: Path, plan: Plan) -> WorkerResult:
    rig = GlassesRig(model, plan)
    out = rig.out
    rig.ask(picture_jpeg((56, 56)), 2)  # warm-up
    for size in plan.sizes:
        jpeg = picture_jpeg(size)
        out.sizes[size_key(size)] = _best([rig.ask(jpeg, 1)[0] for _ in range(plan.reps)])
    _, result = rig.ask(picture_jpeg(plan.decode_size), plan.decode_tokens + 1)
    out.decode_tokens_per_s = result.timings.decode_tokens_per_s
    if result.timings.generated_tokens < plan.decode_tokens + 1:
        out.notes.append(f"decode stopped early ({result.finish_reason})")
    out.peak_rss = peak_rss_bytes()
    return out


def run_glasses_pairs(model: Path, plan: Plan) -> WorkerResult:
    """The encode with the arena kept and shrunk, interleaved in this one process
    (``plan.arena_pairs`` pairs of each per size: arena.py)."""
    rig = GlassesRig(model, Plan(**{**asdict(plan), "encoder_arena": "keep"}))
    rig.ask(picture_jpeg((56, 56)), 2)  # warm-up
    pictures = {size_key(size): picture_jpeg(size) for size in plan.sizes}
    rig.out.encode_pairs = time_pairs(
        lambda jpeg: rig.ask(jpeg, 1)[0].encode_s,
        lambda shrink: set_shrink(rig.engine, shrink),
        pictures,
        plan.arena_pairs,
    )
    rig.out.peak_rss = peak_rss_bytes()
    return rig.out


class _TokenClock:
    """A transformers streamer that notes when each new token arrives (its first ``put`` is
    the prompt)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if self._prompt_seen:
            self.times.append(time.perf_counter())
        self._prompt_seen = True

    def end(self) -> None:
        pass


def run_transformers(hf_dir: Path, plan: Plan) -> WorkerResult:
    import io

    import torch
    from PIL import Image
    from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor

    from .build import ENDOFTEXT, IM_END, PREPROCESSOR

    torch.set_num_threads(plan.threads)
    out = WorkerResult("transformers", importlib.metadata.version("transformers"))
    started = time.perf_counter()
    model = Qwen2VLForConditionalGeneration.from_pretrained(hf_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)  # type: ignore[no-untyped-call]
    settings = {k: v for k, v in PREPROCESSOR.items() if not k.endswith(("_class", "_type"))}
    processor = Qwen2VLImageProcessor(**settings)
    out.load_s, out.rss_after_load = time.perf_counter() - started, _status_bytes("VmRSS")
    visual = model.model.visual
    spans: list[float] = []
    visual.register_forward_pre_hook(lambda *_: spans.append(-time.perf_counter()))
    visual.register_forward_hook(lambda *_: spans.append(time.perf_counter()))
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": plan.question}]}
    ]

    def ask(jpeg: bytes, new_tokens: int) -> tuple[SizeResult, float]:
        spans.clear()
        started = time.perf_counter()
        image = Image.open(io.BytesIO(jpeg)).convert("RGB")
        pixels = processor(images=[image], return_tensors="pt")
        count = int(pixels["image_grid_thw"][0].prod()) // 4
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        text = text.replace("<|image_pad|>", "<|image_pad|>" * count)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        prepare_s = time.perf_counter() - started
        clock = _TokenClock()
        begun = time.perf_counter()
        with torch.no_grad():
            model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                pixel_values=pixels["pixel_values"],
                image_grid_thw=pixels["image_grid_thw"],
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                eos_token_id=[IM_END, ENDOFTEXT],
                pad_token_id=ENDOFTEXT,
                streamer=clock,
            )
        first = clock.times[0] - begun
        encode_s = sum(spans)
        row = SizeResult(count, ids.shape[1], prepare_s, encode_s, first - encode_s)
        row.ttft_s = prepare_s + first
        spent = clock.times[-1] - clock.times[0]
        return row, (len(clock.times) - 1) / spent if spent > 0 else 0.0

    ask(picture_jpeg((56, 56)), 2)  # warm-up
    for size in plan.sizes:
        jpeg = picture_jpeg(size)
        out.sizes[size_key(size)] = _best([ask(jpeg, 1)[0] for _ in range(plan.reps)])
    out.decode_tokens_per_s = ask(picture_jpeg(plan.decode_size), plan.decode_tokens + 1)[1]
    out.peak_rss = peak_rss_bytes()
    return out
