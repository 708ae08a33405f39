"""Imports run one way only: each rule names a package and what it must never import.

Every module's imports are read with ``ast`` (imports inside functions and under
``TYPE_CHECKING`` count too; relative imports are resolved), so a lazy import cannot slip by.
Add a layer by adding a :class:`Rule` to ``RULES``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Rule:
    package: str  # dotted name of the package whose modules are checked
    forbidden: tuple[str, ...]  # dotted names it must not import, nor anything under them
    why: str


RULES = (
    Rule(
        "firmware_bridge",
        ("glasses", "hw_sim"),
        "the link, the protocol and the flasher are the ground floor: a firmware author or the "
        "device library needs nothing of the daemon or the simulator",
    ),
    Rule("hw_sim", ("glasses",), "the simulator stands on firmware_bridge alone"),
    Rule(
        "glasses.modes",
        ("glasses.runtime", "firmware_bridge"),
        "the modes speak only the vocabulary (glasses.pipeline); device input becomes intents "
        "in glasses.runtime.device_input",
    ),
    Rule(
        "glasses.power",
        ("glasses.runtime", "glasses.pipeline", "firmware_bridge"),
        "the power policy is pure: events and time in, actions out; the wiring carries them out",
    ),
    Rule(
        "glasses.pipeline",
        ("glasses.runtime", "firmware_bridge"),
        "the vocabulary knows nothing of the wiring above it or of the link",
    ),
    Rule(
        "glasses.models",
        ("glasses.llm", "glasses.server"),
        "the model store stands below the engine; the LLM folder reader is the store's",
    ),
    Rule(
        "glasses.openai_wire",
        ("glasses.llm", "glasses.server"),
        "the wire format is shared by glasses serve and the remote backend and needs neither",
    ),
    Rule(
        "glasses.onnx_wire",
        ("glasses.llm", "glasses.server", "glasses.models", "glasses.perception"),
        "the ONNX reader serves the engine, the store and the speech checks alike",
    ),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every import in SOURCE, a module named MODULE."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1 more
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # `from glasses import runtime` imports glasses.runtime
                yield node.lineno, f"{base}.{alias.name}"


def violations(rule: Rule) -> list[str]:
    found: dict[str, str] = {}  # one entry per import statement: "path:line" -> what
    folder = ROOT.joinpath(*rule.package.split("."))
    for path in sorted(folder.rglob("*.py")):
        module = module_name(path)
        for line, name in imported_names(path.read_text(), module, path.name == "__init__.py"):
            if any(name == bad or name.startswith(bad + ".") for bad in rule.forbidden):
                found.setdefault(f"{path.relative_to(ROOT)}:{line}", name)
    return [f"{where} imports {name}" for where, name in found.items()]


@pytest.mark.parametrize("rule", RULES, ids=[rule.package for rule in RULES])
def test_imports_run_one_way(rule: Rule) -> None:
    assert (ROOT / rule.package.replace(".", "/")).is_dir(), f"no package {rule.package}"
    found = violations(rule)
    assert not found, f"{rule.package} must not import {rule.forbidden} ({rule.why}):\n" + (
        "\n".join(found)
    )


def test_the_check_sees_lazy_relative_and_from_imports() -> None:
    source = (
        "from ..runtime import daemon\n"
        "def f():\n"
        "    import firmware_bridge.protocol\n"
        "from glasses import runtime\n"
    )
    names = [name for _, name in imported_names(source, "glasses.modes.x", is_package=False)]
    assert "glasses.runtime.daemon" in names
    assert "firmware_bridge.protocol" in names
    assert "glasses.runtime" in names


def test_a_violation_names_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "firmware_bridge").mkdir()
    bad = "import struct\n\ndef f() -> None:\n    from glasses.extras import require\n"
    (tmp_path / "firmware_bridge" / "late.py").write_text(bad)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    rule = next(rule for rule in RULES if rule.package == "firmware_bridge")
    assert violations(rule) == ["firmware_bridge/late.py:4 imports glasses.extras"]
