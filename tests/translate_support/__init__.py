"""A deterministic stand-in translator for translate mode (issue #14): word by word from a
small table, so tests and the translation benchmark know exactly what a clause turns into.

Random-weight models give real timings but meaningless text, so erasure, agreement and the
caption text are measured with this instead. It is monotone on purpose, as word-by-word
translation is: the translation of a prefix is a prefix of the translation of the whole, and
:func:`pieces` says which part of the output each source word became (what the benchmark's
lag is measured on). Words the table does not know (a word the recogniser has only half heard)
pass through unchanged, which is what re-translation then takes back.

:class:`TableEngine` answers chat requests with it, in the shape of the LLM engine, so it can
stand behind ``glasses serve``'s :class:`~glasses.server.ChatServer` as a remote model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from glasses.llm import (
    CancelToken,
    ChatMessage,
    GenerationOptions,
    GenerationResult,
    SamplingConfig,
    TextStream,
    Timings,
)
from glasses.modes.prompts import DATA_CLOSE

EN_ZH: Final = {
    "good": "好", "morning": "早上", "everyone": "大家", "welcome": "欢迎", "to": "到",
    "the": "", "city": "城市", "museum": "博物馆", "on": "在", "lake": "湖", "today": "今天",
    "we": "我们", "will": "将", "walk": "走", "through": "穿过", "three": "三个", "large": "大",
    "galleries": "展厅", "first": "第一", "one": "个", "shows": "展示", "old": "旧", "maps": "地图",
    "of": "的", "river": "河", "and": "和", "town": "镇", "last": "最后", "has": "有",
    "paintings": "画", "in": "在", "winter": "冬天", "please": "请", "stay": "留", "with": "跟",
    "group": "团队", "because": "因为", "rooms": "房间", "are": "是", "very": "很", "busy": "忙",
    "after": "之后", "lunch": "午饭", "boat": "船", "leaves": "出发", "from": "从", "east": "东",
    "gate": "门", "at": "在", "two": "两点", "o'clock": "", "tickets": "票", "cost": "花",
    "five": "五", "dollars": "美元", "children": "孩子", "go": "去", "free": "免费",
}  # fmt: skip
ZH_EN: Final = {
    "大家": "everyone", "好": "good", "欢迎": "welcome", "来到": "to", "西湖": "West Lake",
    "今天": "today", "我们": "we", "先": "first", "坐": "take", "船": "boat", "去": "go to",
    "湖心岛": "the island", "然后": "then", "走": "walk", "到": "to", "断桥": "Broken Bridge",
    "中午": "noon", "在": "at", "楼外楼": "Louwailou", "吃": "eat", "午饭": "lunch",
    "下午": "afternoon", "有": "there is", "自由": "free", "时间": "time", "请": "please",
    "四点": "four o'clock", "门口": "the gate", "集合": "gather", "不要": "do not", "迟到": "be late",
    "票": "tickets", "已经": "already", "买": "bought", "了": "", "晚上": "evening", "看": "watch",
    "演出": "the show", "谢谢": "thank you", "跟": "follow", "导游": "the guide", "的": "'s",
    "旗子": "flag", "别": "do not", "走丢": "get lost", "天气": "weather", "很": "very",
    "热": "hot", "多": "more", "喝": "drink", "水": "water",
}  # fmt: skip
# Speech the table covers, one clause an entry (the translation benchmark's scripts).
SPEECH: Final = {
    "en": (
        "Good morning everyone,", "welcome to the city museum on the lake,",
        "today we will walk through three large galleries,",
        "the first one shows old maps of the river and the town,",
        "and the last one has paintings of the lake in winter.", "Please stay with the group,",
        "because the rooms are very busy,", "after lunch the boat leaves from the east gate,",
        "tickets cost five dollars,", "and children go free.",
    ),
    "zh": (
        "大家好，", "欢迎来到西湖，", "今天我们先坐船去湖心岛，", "然后走到断桥，",
        "中午在楼外楼吃午饭，", "下午有自由时间，", "请四点在门口集合，", "不要迟到，",
        "票已经买了，", "晚上我们去看演出，", "请跟导游的旗子，", "别走丢，", "天气很热，",
        "请多喝水。",
    ),
}  # fmt: skip
_MARKS: Final = {",": "，", ".": "。", "!": "！", "?": "？", ";": "；", ":": "："}
_MARKS_BACK: Final = {v: k for k, v in _MARKS.items()} | {"、": ","}
_EN_WORD: Final = re.compile(r"[A-Za-z0-9']+|[^\sA-Za-z0-9']")
_LONGEST_ZH: Final = max(len(word) for word in ZH_EN)


def pieces(text: str, target: str) -> list[tuple[int, int, str]]:
    """``(start, end, translation)`` for each token of ``text``: a table word, a mark, or an
    unknown word passed through. Concatenated (with spaces into English) they are the
    translation."""
    out: list[tuple[int, int, str]] = []
    if target == "zh":
        for m in _EN_WORD.finditer(text):
            word = m.group()
            piece = _MARKS.get(word, EN_ZH.get(word.lower(), word))
            out.append((m.start(), m.end(), piece))
        return out
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        for size in range(min(_LONGEST_ZH, len(text) - i), 0, -1):
            word = text[i : i + size]
            if word in ZH_EN or size == 1:
                out.append((i, i + size, ZH_EN.get(word, _MARKS_BACK.get(word, word))))
                i += size
                break
    return out


def translate(text: str, target: str) -> str:
    """``text`` translated into ``target`` ("zh" or "en") word by word."""
    if target == "zh":
        return "".join(piece for _, _, piece in pieces(text, target))
    words: list[str] = []
    for _, _, piece in pieces(text, target):
        if piece in _MARKS and words:
            words[-1] += piece
        elif piece:
            words.append(piece)
    return " ".join(words)


def request_text(messages: Sequence[ChatMessage]) -> tuple[str, str]:
    """The line to translate in a translate-mode chat (the last line of its data block) and
    the target language ("zh" when the task asks for Chinese, else "en")."""
    content = messages[-1].content
    data, _, task = content.partition(f"\n{DATA_CLOSE}")
    if not task:
        raise ValueError(f"not a translate-mode request (no {DATA_CLOSE}): {content[:80]!r}")
    return data.split("\n")[-1], "zh" if "into Chinese" in task else "en"


def reply(messages: Sequence[ChatMessage]) -> str:
    """What the stand-in answers to a translate-mode chat."""
    line, target = request_text(messages)
    return translate(line, target)


class TableEngine:
    """The stand-in translator in the shape of ``LlmEngine.stream`` (for ``ChatServer``): the
    reply streamed a word at a time. ``requests`` records every chat it was sent."""

    default_sampling = SamplingConfig(greedy=True)

    def __init__(self) -> None:
        self.requests: list[tuple[ChatMessage, ...]] = []

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> TextStream:
        self.requests.append(tuple(messages))
        result = GenerationResult()
        return TextStream(self._run(reply(messages), cancel or CancelToken(), result), result)

    def _run(self, text: str, cancel: CancelToken, result: GenerationResult) -> Iterator[str]:
        for delta in re.findall(r"\S+\s*", text) or [text]:
            if cancel.cancelled:
                result.finish_reason = "cancelled"
                return
            result.text += delta
            result.token_ids.append(len(result.token_ids))
            yield delta
        result.finish_reason = "eos"
        result.timings = Timings(1, 0, len(result.token_ids), 0.0, 0.0, 0.0)
