"""The documents point at things that exist: every relative link in README.md, docs/ and mcu/,
and every repository path written in backticks (`glasses/runtime/daemon.py`), resolves in the
tree.  Modules move (issue #12 moved dozens); a guide that names a file that is gone sends a
new developer or a firmware author nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
TOP_FOLDERS = ("glasses/", "firmware_bridge/", "hw_sim/", "scripts/", "tests/", "docs/", "mcu/")
PATH_LIKE = re.compile(r"\.(py|md|sh|c|h|toml|service|ld)$|/$")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *ROOT.glob("mcu/**/*.md")]


def places(pattern: str) -> list[tuple[Path, int, str]]:
    found = []
    for doc in documents():
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            found += [(doc, number, target) for target in re.findall(pattern, line)]
    return found


def test_relative_links_resolve() -> None:
    missing = [
        f"{doc.relative_to(ROOT)}:{number}: {target}"
        for doc, number, target in places(r"\]\(([^)\s]+)\)")
        if not re.match(r"[a-z]+:", target)  # http:, https:, mailto:
        and not target.startswith("#")
        and not (doc.parent / target.split("#")[0]).exists()
    ]
    assert not missing, "links to nothing:\n" + "\n".join(missing)


def test_repository_paths_in_backticks_exist() -> None:
    missing = []
    for doc, number, token in places(r"`([^`\s]+)`"):
        path = token.rstrip(".,:;")
        generated = "build/" in path or any(c in path for c in "<*{")
        named = path.startswith(TOP_FOLDERS) and PATH_LIKE.search(path) and not generated
        if named and not (ROOT / path).exists():
            missing.append(f"{doc.relative_to(ROOT)}:{number}: {path}")
    assert not missing, "paths that do not exist:\n" + "\n".join(missing)
