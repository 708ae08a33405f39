"""The daemon's settings: one TOML file, a device profile under it, ``--set`` overrides on top.

Every key is a field of a frozen dataclass below, documented where it is declared (the README's
configuration table is generated from these docs: ``glasses run --describe-config``). Values
are checked once, at start, and a bad one is reported with its key and the allowed values.
Precedence, lowest first: defaults, the profile (``--profile`` or the file's top-level
``profile = "pi5"``), the file (``--config``), ``--set section.key=value``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.resources
import math
import os
import re
import stat
import sys
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from glasses.errors import GlassesError

PROFILES: Final = ("pi5", "jetson-orin", "pi4")
MODES: Final = ("captions", "translate", "read", "assist")
LANGUAGE_CODES: Final = ("zh", "yue", "en", "ja", "ko", "fr", "de", "es", "it", "pt", "ru", "vi")
PROVIDERS: Final = ("auto", "tensorrt", "cuda", "cpu")  # ONNX Runtime execution providers


# A settings file is a few kB; anything this big is the wrong file (or a device).
MAX_CONFIG_BYTES: Final = 1 << 20
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,32}")  # an item of a names=N list setting


class ConfigError(GlassesError):
    """A setting is unknown or has a value outside what it allows.

    ``problems`` lists every problem found (the message shows them one per line)."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


def _s(default: Any, doc: str, **limits: Any) -> Any:
    """A documented setting; ``limits``: choices=..., minimum=..., maximum=..., length=...,
    nonempty=True (a string that may not be empty), names=N (a list, maybe empty, of at most
    N names: letters, digits, ``_ . -``)."""
    return field(default=default, metadata={"doc": doc, **limits})


# One setting per line, so the schema reads as the table it is.
# fmt: off
@dataclass(frozen=True)
class DisplaySettings:
    url: str = _s("/dev/ttyACM0", "Port of the display MCU: `/dev/ttyACM0` (USB); the header UART, pins 8/10: `/dev/ttyAMA0` on a Pi 5, `/dev/serial0` on a Pi 4 (with `dtoverlay=disable-bt`), `/dev/ttyTHS1` on a Jetson Orin with JetPack 6 (`glasses doctor` checks it); a simulator pty or `socket://host:port`.", nonempty=True)
    baud: int = _s(921600, "UART speed in bit/s (USB-CDC and ptys ignore it).", minimum=1200)
    font: str = _s("", "Font file; empty: a CJK-capable system font found through fontconfig.")
    font_size_px: int = _s(0, "Body text size; 0 sizes it from the display (about six lines).", minimum=0, maximum=200)
    caption_lines: int = _s(3, "Caption lines shown at most, newest at the bottom.", minimum=1, maximum=20)


@dataclass(frozen=True)
class AudioSettings:
    source: str = _s("mic", "Speech input: `mic` (default input), `mic:NAME` or `mic:INDEX`, `file:PATH` (played in real time) or `off`.", nonempty=True)
    vad_threshold: float = _s(0.5, "Speech probability (Silero VAD) that starts an utterance.", minimum=0.05, maximum=0.95)
    min_silence_s: float = _s(0.5, "A pause this long ends an utterance.", minimum=0.1, maximum=5.0)
    max_utterance_s: float = _s(15.0, "Longer speech is split into several utterances.", minimum=2.0, maximum=60.0)


@dataclass(frozen=True)
class AsrSettings:
    model_dir: str = _s("", "Speech model folder or pulled name (sherpa-onnx SenseVoice, Moonshine or streaming zipformer, told apart by their files); empty: `$GLASSES_SENSEVOICE_DIR`, else the first of sensevoice, moonshine-tiny, zipformer-zh-en that was pulled. Without a model, captions show speech activity only.")
    threads: int = _s(2, "Threads for speech recognition.", minimum=1, maximum=16)
    language: str = _s("auto", "Language spoken, or `auto` to let the model identify it.", choices=("auto", "zh", "en", "ja", "ko", "yue"))
    partials: bool = _s(True, "Show text while an utterance is still being spoken.")
    providers: tuple[str, ...] = _s(("cpu",), "Where speech recognition runs, in preference order: `cuda`, `cpu`, or `auto` (CUDA if there). CUDA needs a sherpa-onnx built with it (the PyPI wheel is CPU-only); a GPU that is missing falls back to the CPU with a warning. Silero VAD always runs on the CPU.", choices=PROVIDERS)


@dataclass(frozen=True)
class CameraSettings:
    source: str = _s("off", "Camera for Read mode: `off`, a V4L2 index (`0`), `picamera2[:N]`, `nvargus[:N]`, a video file, an image or a folder of images.", nonempty=True)
    still_timeout_s: float = _s(2.0, "A capture waits this long for a still, sharp frame, then takes the sharpest one seen.", minimum=0.1, maximum=30.0)
    idle_close_s: float = _s(60.0, "Close the camera after this long without a capture (an open camera costs power and CPU).", minimum=0.0)


@dataclass(frozen=True)
class OcrSettings:
    threads: int = _s(2, "Threads for text recognition.", minimum=1, maximum=16)
    max_side_px: int = _s(1280, "Frames are shrunk to this longest side before reading.", minimum=320, maximum=4096)
    min_confidence: float = _s(0.5, "Text recognised with less confidence is left out.", minimum=0.0, maximum=1.0)
    providers: tuple[str, ...] = _s(("cpu",), "Where text recognition runs, in preference order: `cuda`, `cpu`, or `auto` (CUDA if this onnxruntime has it; rapidocr has no TensorRT). A GPU that is missing falls back to the CPU with a warning.", choices=PROVIDERS)


@dataclass(frozen=True)
class LlmSettings:
    model: str = _s("qwen3-0.6b-int4", "Model folder, or a name under `$GLASSES_MODELS_DIR`; empty: no language model (the modes show what they can without one).")
    variant: str = _s("", "Optimum file variant, e.g. `q4` for `onnx/model_q4.onnx`; empty: `model.onnx`.")
    threads: int = _s(0, "ONNX Runtime threads; 0: one per physical core.", minimum=0, maximum=64)
    spinning: str = _s("auto", "Whether the model's ONNX Runtime threads busy-wait between operators: `on` decodes fastest on an otherwise idle CPU but holds the cores while it generates, so speech recognition's partials wait for them; `off` yields them between operators; `auto`: off while speech recognition runs on the CPU, on otherwise (measured in docs/benchmarks.md, translation).", choices=("auto", "on", "off"))
    providers: tuple[str, ...] = _s(("cpu",), "ONNX Runtime execution providers in preference order: `tensorrt`, `cuda`, `cpu`, or `auto` (TensorRT, then CUDA, whichever this onnxruntime has). The CPU is always the last resort; a GPU that is missing or fails to start falls back to it with a warning (on a Jetson: `scripts/install.sh --ort-wheel`). `glasses status` shows what each model really runs on.", choices=PROVIDERS)
    context_tokens: int = _s(2048, "KV cache size in tokens (memory grows with it).", minimum=256, maximum=32768)
    max_new_tokens: int = _s(160, "Longest reply in tokens.", minimum=8, maximum=2048)
    temperature: float = _s(0.0, "Sampling temperature; 0 is greedy (the same input gives the same reply).", minimum=0.0, maximum=2.0)
    timeout_s: float = _s(30.0, "A reply taking longer is cut off.", minimum=1.0, maximum=600.0)


@dataclass(frozen=True)
class RemoteSettings:
    url: str = _s("", "OpenAI-compatible endpoint of a bigger Qwen (vLLM, SGLang, Ollama, `glasses serve`), e.g. `http://gpu-box:8000/v1`; used while reachable, the local model otherwise. The API key comes from `$GLASSES_REMOTE_API_KEY`, never from this file. Empty: local only.")
    model: str = _s("", "Model name the server knows (vLLM: the served model name, e.g. `Qwen/Qwen3-8B`).")
    first_token_budget_s: float = _s(2.0, "The remote must stream its first token this soon, or the local model answers.", minimum=0.1, maximum=60.0)
    stall_budget_s: float = _s(5.0, "Once answering, the remote may fall silent this long before the local model takes over.", minimum=0.1, maximum=60.0)
    images: bool = _s(False, "The remote model reads pictures (vLLM serving Qwen2.5-VL, `glasses serve` with Qwen2-VL): LOOK sends it the camera's picture inline (a data: URL). Off: pictures go to the local vision model only.")


@dataclass(frozen=True)
class TranslateSettings:
    languages: tuple[str, ...] = _s(("zh", "en"), "The two languages: speech in one is captioned in the other; any other language goes into the second.", choices=LANGUAGE_CODES, length=2)
    commit: str = _s("clause", "When to translate: `clause` translates each clause as soon as the recogniser has settled it (the captions keep pace with the speaker); `utterance` waits for the end of each utterance.", choices=("clause", "utterance"))
    clause_pause_s: float = _s(0.3, "A pause this long inside an utterance ends a clause (so do `，。,.!?` the recogniser writes).", minimum=0.05, maximum=5.0)
    clause_max_words: int = _s(12, "A clause this long (a Chinese character counts as a word) is translated without waiting for punctuation or a pause.", minimum=1, maximum=200)
    tentative: bool = _s(True, "Between clauses, re-translate the rest of what is being said and show it dim (the model's spare time only).")
    agreement: int = _s(2, "Successive tentative translations that must agree on a word before it is drawn settled (1: every word at once).", minimum=1, maximum=8)
    lookahead_words: int = _s(1, "Words the recogniser has not settled yet that a tentative re-translation includes (more: the dim text runs ahead but is taken back more often; 1 keeps erasure under 0.2, docs/benchmarks.md).", minimum=0, maximum=50)


@dataclass(frozen=True)
class ReadSettings:
    action: str = _s("auto", "What to do with text read: `translate`, `summarise`, or `auto` (summarise text already in `read.language`, else translate).", choices=("auto", "translate", "summarise"))
    language: str = _s("en", "Language of the result.", choices=LANGUAGE_CODES)
    max_chars: int = _s(160, "Length asked of the model.", minimum=20, maximum=2000)


@dataclass(frozen=True)
class LookSettings:
    prompt: str = _s("What is this? Answer in one short sentence.", "What LOOK (swipe up, `glasses mode look`) asks about the camera's picture; a question spoken right after the swipe is asked instead.", nonempty=True)
    model: str = _s("", "Vision-language model folder or pulled name for LOOK (Qwen2-VL in onnx-community's layout: `glasses models pull qwen2-vl-2b-instruct-int4`); empty: `llm.model` when it is one. Without one, LOOK reads the picture's text (OCR) and asks the text model, and says so.")
    max_pixels: int = _s(50176, "Pixel budget of a picture (the model sees at most this many; 224 x 224 = 50176 gives 64 picture tokens): fewer pixels answer sooner; a Qwen2-VL-2B on a Pi 5 is estimated at about 4 s to the first word at 224 x 224 and 15 s at 448 x 448 (docs/benchmarks.md).", minimum=3136, maximum=12845056)
    max_side_px: int = _s(1024, "The camera's still is scaled so its longer side is at most this before it is JPEG-encoded for the model.", minimum=56, maximum=4096)
    max_chars: int = _s(200, "Answers are asked for, and cut to, this many characters.", minimum=20, maximum=4000)
    question_window_s: float = _s(3.0, "Speech starting this soon after LOOK is the wearer's question about the picture.", minimum=0.0, maximum=30.0)


@dataclass(frozen=True)
class AssistantSettings:
    max_chars: int = _s(320, "Answers are asked for, and cut to, this many characters.", minimum=20, maximum=4000)
    use_read_context: bool = _s(True, "Give the model the text the camera read last.")


@dataclass(frozen=True)
class ModesSettings:
    enabled: tuple[str, ...] = _s(MODES, "Modes a double press cycles through, in this order.", choices=MODES)
    start: str = _s("captions", "Mode at start; one of `modes.enabled`.", choices=MODES)


@dataclass(frozen=True)
class LogSettings:
    level: str = _s("warning", "Log level (logs go to stderr).", choices=("debug", "info", "warning", "error"))
    format: str = _s("kv", "`kv` (key=value lines) or `json` (one JSON object per line).", choices=("kv", "json"))
    status_file: str = _s("", "Status file read by `glasses status`; empty: `$XDG_RUNTIME_DIR/glasses/status.json` (else `/tmp/glasses-UID/`).")
    status_interval_s: float = _s(1.0, "How often the status file is rewritten.", minimum=0.1, maximum=60.0)


@dataclass(frozen=True)
class PowerSettings:
    dim_after_s: float = _s(30.0, "Worn with nothing happening (no speech, button or swipe) this long, the display dims; 0: never.", minimum=0.0, maximum=3600.0)
    sleep_after_s: float = _s(120.0, "Worn with nothing happening this long, the display sleeps (still listening: speech, a button or a swipe wakes it at once); 0: never. Taken off (the glasses' wear sensor), it sleeps at once and listening stops.", minimum=0.0, maximum=36000.0)
    brightness: int = _s(255, "Display brightness in use (0 dimmest, panel still on .. 255).", minimum=0, maximum=255)
    dim_brightness: int = _s(48, "Display brightness once dimmed.", minimum=0, maximum=255)
    low_battery_percent: int = _s(20, "Below this charge of the glasses (not charging) the daemon saves power: fewer partial transcripts (`power.saving_partial_interval_s`), no tentative re-translation (committed clauses are still translated), and `SAVING` on the status line. Ends 5 points higher.", minimum=0, maximum=100)
    critical_battery_percent: int = _s(5, "At or below this charge (not charging) the glasses show a warning and the daemon stops cleanly 5 s later; 0: never.", minimum=0, maximum=100)
    board_hot_c: float = _s(75.0, "The computer's hottest thermal zone at or above this saves power too (so does throttling it reports: a Pi's under-voltage or capped clock); ends 5 °C lower.", minimum=30.0, maximum=120.0)
    glasses_hot_c: float = _s(45.0, "The glasses' own temperature (EVENT TEMPERATURE) at or above this saves power; ends 5 °C lower.", minimum=20.0, maximum=100.0)
    saving_power_modes: tuple[str, ...] = _s((), "A Jetson's nvpmodel power modes that save power too, by id (`1`) or by the name its nvpmodel.conf gives (`7W`, any case), e.g. `[\"7W\"]`: the wearer chose a small power budget, so tentative work goes first. Empty by default because mode numbers and names differ between Orin modules and JetPack releases: `sudo nvpmodel -q` shows the one in use, `glasses status` the one read.", names=8)
    board_poll_s: float = _s(10.0, "How often the computer's thermal zones, throttling flags and nvpmodel power mode are read; 0: never.", minimum=0.0, maximum=600.0)
    saving_partial_interval_s: float = _s(1.0, "While saving power, a partial transcript at most this often (seconds of audio; otherwise every 0.2 s); 0: none while saving.", minimum=0.0, maximum=60.0)
# fmt: on


@dataclass(frozen=True)
class Settings:
    display: DisplaySettings = field(default_factory=DisplaySettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    ocr: OcrSettings = field(default_factory=OcrSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    remote: RemoteSettings = field(default_factory=RemoteSettings)
    translate: TranslateSettings = field(default_factory=TranslateSettings)
    read: ReadSettings = field(default_factory=ReadSettings)
    look: LookSettings = field(default_factory=LookSettings)
    assistant: AssistantSettings = field(default_factory=AssistantSettings)
    modes: ModesSettings = field(default_factory=ModesSettings)
    log: LogSettings = field(default_factory=LogSettings)
    power: PowerSettings = field(default_factory=PowerSettings)


def _toml() -> Any:
    return importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")


def read_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = _toml().loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    except RecursionError as exc:  # tomllib recurses once per nested inline table or array
        raise ConfigError(
            f"{origin}: not valid TOML: tables or arrays are nested too deeply "
            "(settings are at most [section] key = value)"
        ) from exc
    return data


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_config_file(path: Path) -> str:
    """The text of a settings file: a regular file of at most :data:`MAX_CONFIG_BYTES`, UTF-8.

    Opened without blocking (a named pipe would wait for a writer forever) and checked before
    anything is read (``/dev/zero`` never ends)."""

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"cannot read the configuration {path}: {why}")

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise refuse(f"it is {_file_kind(mode)}, give a TOML file")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_CONFIG_BYTES:  # the file may grow while it is read
            chunk = os.read(fd, MAX_CONFIG_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise refuse(f"it is larger than {MAX_CONFIG_BYTES // 1024} KiB, not a settings file")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column "
            f"{column} (byte offset {exc.start}); save the file as UTF-8"
        ) from exc


def profile_text(name: str) -> str:
    if name not in PROFILES:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, got {name!r}")
    return (importlib.resources.files("glasses.profiles") / f"{name}.toml").read_text("utf-8")


def _sections() -> dict[str, type[Any]]:
    """Section name -> its settings class, in declaration order."""
    return {name: cls for name, cls in typing.get_type_hints(Settings).items()}


def _default(section: str, key: str) -> Any:
    cls = _sections().get(section)
    known = {f.name: f.default for f in dataclasses.fields(cls)} if cls else {}
    return known.get(key)


def _override(item: str) -> tuple[str, str, Any]:
    """``section.key=value``: the value read as TOML (4, true, ["zh", "en"]), except that a
    string setting takes the text as it is (``display.url=socket://host:7000``)."""
    key, sep, raw = item.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not section or not name:
        raise ConfigError(f"--set takes section.key=value, got {item!r}")
    if isinstance(_default(section, name), str) and not raw.strip().startswith(('"', "'")):
        return section, name, raw
    try:
        return section, name, read_toml(f"v = {raw}", "--set")["v"]
    except ConfigError:
        return section, name, raw


def _shown(value: Any) -> str:
    """``repr`` of a value given, cut short: a message is a line, whatever the file held."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"a deeply nested {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def _check(key: str, value: Any, default: Any, meta: Mapping[str, Any]) -> Any:
    """The value, converted (an int for a float, a list for a tuple); ConfigError names ``key``,
    what it allows and what it got."""

    def bad(wanted: str) -> ConfigError:
        return ConfigError(f"{key} must be {wanted}, got {_shown(value)}")

    kind = type(default)
    if kind is tuple and isinstance(value, str):  # --set llm.providers=cuda
        value = [value]
    if kind is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        value = tuple(value)
        if "length" in meta and len(value) != meta["length"]:
            raise bad(f"a list of {meta['length']}")
        if "names" in meta:
            if len(value) > meta["names"] or not all(map(_NAME.fullmatch, value)):
                raise bad(
                    f"a list of at most {meta['names']} names (1 to 32 letters, digits, _ . or -)"
                )
            if len({v.casefold() for v in value}) != len(value):
                raise bad("a list without repeats")
        elif len(set(value)) != len(value) or not value:
            raise bad("a non-empty list without repeats")
    elif kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad(
            {bool: "true or false", int: "an integer", float: "a number"}.get(kind, "a string")
        )
    if kind is float and not math.isfinite(value):  # nan and inf pass every comparison test
        raise bad("a finite number")
    for item in value if kind is tuple else (value,):
        if isinstance(item, str) and "\0" in item:
            raise bad("text without NUL characters")
    if meta.get("nonempty") and not value:
        raise bad("a non-empty string")
    choices = meta.get("choices")
    for item in value if kind is tuple else (value,):
        if choices and item not in choices:
            raise bad(f"{'a list of ' if kind is tuple else ''}one of {', '.join(choices)}")
    if ("minimum" in meta and value < meta["minimum"]) or (
        "maximum" in meta and value > meta["maximum"]
    ):
        raise bad(f"between {meta.get('minimum', '-inf')} and {meta.get('maximum', 'inf')}")
    return value


def _problems_error(origin: str, problems: Sequence[str]) -> ConfigError:
    """One error for all of them: one problem per line."""
    if len(problems) == 1:
        return ConfigError(f"{origin}: {problems[0]}", problems)
    lines = "\n".join(f"  {p}" for p in problems)
    return ConfigError(f"{origin}: {len(problems)} problems:\n{lines}", problems)


def build_settings(data: Mapping[str, Any], origin: str = "config") -> Settings:
    """Settings from nested ``{section: {key: value}}``; unknown keys are errors.

    Every problem is collected: the :class:`ConfigError` lists them all, one per line."""
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for name, cls in _sections().items():
        given = data.get(name, {})
        if not isinstance(given, Mapping):
            problems.append(f"[{name}] must be a table of settings")
            given = {}
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in given.items():
            if key not in known:
                problems.append(f"unknown key {name}.{key} (known: {', '.join(known)})")
                continue
            try:
                values[key] = _check(
                    f"{name}.{key}", value, known[key].default, known[key].metadata
                )
            except ConfigError as exc:
                problems.append(str(exc))
        sections[name] = cls(**values)
    for name in data:
        if name not in sections:
            problems.append(f"unknown section [{name}] (known: {', '.join(sections)})")
    settings = Settings(**sections)
    if settings.modes.start not in settings.modes.enabled:
        problems.append(
            f"modes.start must be one of modes.enabled ({', '.join(settings.modes.enabled)}), got {settings.modes.start!r}"
        )
    for section in ("llm", "ocr", "asr"):
        providers = getattr(settings, section).providers
        if ("auto" in providers and len(providers) > 1) or "cpu" in providers[:-1]:
            problems.append(
                f"{section}.providers must be auto alone, or a list with cpu (if any) "
                f"last, got {list(providers)!r}"
            )
    source = settings.audio.source
    if source not in ("mic", "off") and not source.startswith(("mic:", "file:")):
        problems.append(f"audio.source must be mic, mic:DEVICE, file:PATH or off, got {source!r}")
    if problems:
        raise _problems_error(origin, problems)
    return settings


def load_settings(
    config: Path | None = None, profile: str | None = None, overrides: Sequence[str] = ()
) -> Settings:
    """Defaults < profile < the file < ``overrides`` (``section.key=value``)."""
    user: dict[str, Any] = {}
    if config is not None:
        user = read_toml(read_config_file(config), str(config))
    chosen = profile or user.pop("profile", None)
    user.pop("profile", None)
    data = read_toml(profile_text(str(chosen)), f"profile {chosen}") if chosen else {}
    layers = [user] + [{section: {key: v}} for section, key, v in map(_override, overrides)]
    for layer in layers:
        for section, values in layer.items():
            if isinstance(values, Mapping) and isinstance(data.get(section), Mapping):
                data[section] = {**data[section], **values}
            else:
                data[section] = values
    return build_settings(data, str(config) if config else "settings")


def describe() -> list[tuple[str, str, str]]:
    """``(key, default as TOML, doc)`` of every setting, in declaration order."""

    def toml(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return "[" + ", ".join(toml(v) for v in value) + "]"
        return f'"{value}"' if isinstance(value, str) else repr(value)

    rows = []
    for name, cls in _sections().items():
        for f in dataclasses.fields(cls):
            rows.append((f"{name}.{f.name}", toml(f.default), str(f.metadata["doc"])))
    return rows
