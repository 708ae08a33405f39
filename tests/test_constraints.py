"""scripts/constraints/pi-bookworm.txt stays in step with pyproject.toml, and the onnxruntime
floor stays installable on JetPack 6 (no network)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
PI_CONSTRAINTS = ROOT / "scripts" / "constraints" / "pi-bookworm.txt"
# One pin a line: a name, one or more comparisons, no extras, markers or options.
PIN = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<spec>(?:[<>=!~]=?\s*[\w.*]+\s*,?\s*)+)"
)
# "via rapidocr-onnxruntime": the dependency of glasses that pulls a transitive pin in.
VIA = re.compile(r"^# via ([A-Za-z0-9][A-Za-z0-9._-]*)")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _declared() -> dict[str, list[str]]:
    """Each package glasses depends on (any extra) -> its requirement strings."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    declared: dict[str, list[str]] = {}
    for text in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
        assert match, text
        declared.setdefault(_name(match.group()), []).append(text)
    return declared


def _pins() -> list[tuple[str, str, str]]:
    """(name, specifier, the comment block above it) for each pin of the Pi constraints."""
    pins: list[tuple[str, str, str]] = []
    comment: list[str] = []
    for raw in PI_CONSTRAINTS.read_text().splitlines():
        line = raw.strip()
        if not line:
            comment = []
        elif line.startswith("#"):
            comment.append(line)
        else:
            match = PIN.fullmatch(line)
            assert match, f"not a plain pin: {raw!r}"
            assert comment, f"{line}: say why, in a comment above it"
            pins.append((_name(match["name"]), match["spec"].replace(" ", ""), comment[0]))
            comment = []
    return pins


def test_pi_constraints_parse_and_each_pin_says_why() -> None:
    pins = _pins()
    assert pins
    names = [name for name, _, _ in pins]
    assert len(names) == len(set(names)), "one line per package"


def test_pi_constraints_hold_numpy_to_the_apt_release_below_2() -> None:
    numpy = [spec for name, spec, _ in _pins() if name == "numpy"]
    assert numpy == ["==1.24.2"], "apt's python3-numpy on bookworm; picamera2's helpers need it"
    assert any(req.startswith("numpy>=1.24") for req in _declared()["numpy"])


def test_pi_constraints_pin_only_what_glasses_installs() -> None:
    declared = _declared()
    for name, spec, comment in _pins():
        via = VIA.match(comment)
        if via:
            parent = _name(via.group(1))
            assert parent in declared, f"{name}: {parent} is no dependency of glasses"
            assert name not in declared, f"{name} is a direct dependency: drop the 'via'"
        else:
            assert name in declared, f"{name}{spec}: no extra of glasses depends on it"


def test_pi_constraints_leave_the_declared_floors_installable() -> None:
    """A pin's upper bound lies above the floor pyproject declares for that package."""
    declared = _declared()
    for name, spec, _ in _pins():
        upper = re.findall(r"(?:<|==)([\d.]+)", spec)
        for requirement in declared.get(name, []):
            floor = re.search(r">=\s*([\d.]+)", requirement)
            if floor and upper:
                as_tuple = [tuple(int(p) for p in v.split(".")) for v in (floor[1], upper[0])]
                assert as_tuple[0] <= as_tuple[1], f"{requirement} vs {name}{spec}"


# The newest onnxruntime wheel for cp310 aarch64 (JetPack 6's Python): docs/field.md, section 7.
JETPACK_ORT_CEILING = (1, 23, 2)


def test_onnxruntime_floor_stays_installable_on_jetpack() -> None:
    """A floor above the newest cp310 aarch64 wheel would leave a Jetson nothing to install."""
    requirements = _declared()["onnxruntime"]
    assert requirements, "no extra declares onnxruntime"
    for requirement in requirements:
        floor = re.search(r">=\s*([\d.]+)", requirement)
        assert floor, f"{requirement}: no floor"
        assert tuple(int(p) for p in floor[1].split(".")) <= JETPACK_ORT_CEILING, requirement
