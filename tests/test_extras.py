"""Optional imports: "not installed" only when the module is absent; otherwise the real cause.

The broken modules are small files put on ``sys.path`` for the test; the end-to-end tests run
``glasses read`` and the OCR engine in a child process with a fake ``cv2`` package in front of
the real one, so this process's OpenCV is not disturbed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glasses.extras import (
    BrokenExtraError,
    ExtraImportError,
    MissingExtraError,
    pip_install,
    require,
)

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[1]
LIBGL_ERROR = "libGL.so.1: cannot open shared object file: No such file or directory"


def module_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_module_that_is_not_there_is_not_installed() -> None:
    with pytest.raises(MissingExtraError) as caught:
        require("glasses_test_absent_module", "ocr", purpose="reading text")
    message = str(caught.value)
    assert "'glasses_test_absent_module' is needed for reading text but is not installed" in message
    assert pip_install("ocr") in message
    with pytest.raises(MissingExtraError):  # a package above the module is absent
        require("glasses_test_absent_package.sub", "ocr")


def test_a_missing_system_library_is_reported_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module_on_path(
        tmp_path, monkeypatch, "glasses_test_needs_libgl", f"raise ImportError({LIBGL_ERROR!r})\n"
    )
    with pytest.raises(BrokenExtraError) as caught:
        require("glasses_test_needs_libgl", "ocr", purpose="reading text")
    message = str(caught.value)
    assert not isinstance(caught.value, MissingExtraError)
    assert isinstance(caught.value, ImportError) and isinstance(caught.value, ExtraImportError)
    assert (
        "'glasses_test_needs_libgl' is installed but cannot be imported for reading text" in message
    )
    assert LIBGL_ERROR in message and message.endswith("fix: sudo apt install libgl1")
    assert "not installed" not in message and "pip install" not in message


def test_a_missing_dependency_is_not_the_module_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module_on_path(
        tmp_path, monkeypatch, "glasses_test_lost_dependency", "import glasses_test_gone_dep\n"
    )
    with pytest.raises(BrokenExtraError) as caught:
        require("glasses_test_lost_dependency", "ocr")
    message = str(caught.value)
    assert "'glasses_test_lost_dependency' is installed but cannot be imported" in message
    assert "No module named 'glasses_test_gone_dep'" in message
    assert "not installed" not in message
    assert pip_install("ocr") in message  # restores what the dependencies declare


@pytest.mark.parametrize(
    ("raised", "fix"),
    [
        ('ImportError("libgthread-2.0.so.0: cannot open shared object file")', "libglib2.0-0"),
        ('OSError("PortAudio library not found")', "sudo apt install libportaudio2"),
        ("OSError(\"cannot load library 'libsndfile.so': not found\")", "libsndfile1"),
        ('ImportError("numpy.core.multiarray failed to import")', "built for another NumPy"),
        ('ValueError("numpy.dtype size changed, may indicate binary incompatibility")', "NumPy"),
    ],
)
def test_known_causes_name_their_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: str, fix: str
) -> None:
    name = f"glasses_test_broken_{abs(hash(raised))}"
    module_on_path(tmp_path, monkeypatch, name, f"raise {raised}\n")
    with pytest.raises(BrokenExtraError, match="is installed but cannot be imported") as caught:
        require(name, "audio")
    assert fix in str(caught.value) and "not installed" not in str(caught.value)


@pytest.fixture
def fake_cv2(tmp_path: Path) -> dict[str, str]:
    """The environment of a child process whose ``import cv2`` fails as without libGL."""
    fake = tmp_path / "fake" / "cv2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ImportError({LIBGL_ERROR!r})\n", encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(fake.parent), str(ROOT)])
    return env


@pytest.mark.process
def test_glasses_read_reports_the_real_cause(tmp_path: Path, fake_cv2: dict[str, str]) -> None:
    from PIL import Image

    image = tmp_path / "sign.png"
    Image.new("RGB", (64, 32), "white").save(image)
    done = subprocess.run(
        [sys.executable, "-m", "glasses.cli", "read", str(image)],
        capture_output=True,
        text=True,
        env=fake_cv2,
        timeout=120,
    )
    assert done.returncode != 0
    assert LIBGL_ERROR in done.stderr and "sudo apt install libgl1" in done.stderr, done.stderr
    assert "not installed" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.process
def test_the_ocr_engine_reports_the_real_cause(fake_cv2: dict[str, str]) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    script = (
        "from glasses.extras import BrokenExtraError\n"
        "from glasses.perception.ocr import OcrEngine\n"
        "try:\n"
        "    OcrEngine()\n"
        "except BrokenExtraError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=fake_cv2, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert (
        "'rapidocr_onnxruntime'" in done.stdout
        and "installed but cannot be imported" in done.stdout
    )
    assert LIBGL_ERROR in done.stdout and "fix: sudo apt install libgl1" in done.stdout
    assert "not installed" not in done.stdout


def test_the_doctor_gives_the_fix_of_the_real_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glasses.doctor.checks import Found, check_asr

    module_on_path(
        tmp_path, monkeypatch, "glasses_test_asr_runtime", f"raise OSError({LIBGL_ERROR!r})\n"
    )
    with pytest.raises(BrokenExtraError) as caught:
        require("glasses_test_asr_runtime", "asr")
    broken = check_asr(Found("model"), str(caught.value))
    assert broken.status == "FAIL" and broken.fix == "sudo apt install libgl1"
    assert LIBGL_ERROR in broken.detail
    assert check_asr(Found("model"), "not installed").fix == pip_install("asr")


def test_install_hints_work_as_printed() -> None:
    """The hint names this interpreter's pip and the checkout it was installed from (``-e``,
    as scripts/setup.sh installs it), never a bare ``pip install 'glasses[...]'``: that would
    reach another Python, or PyPI's unrelated "glasses" package."""
    import shlex
    import sys
    from pathlib import Path

    import tomllib

    from glasses.extras import DISTRIBUTION

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION != "glasses"
    words = shlex.split(pip_install("ocr"))
    assert words[:4] == [sys.executable, "-m", "pip", "install"]
    # The test venv is set up from this checkout, editable: the hint installs into it.
    assert words[4:] == ["-e", f"{root}[ocr]"]
    assert "ocr" in project["optional-dependencies"]
