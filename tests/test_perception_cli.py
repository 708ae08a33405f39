"""``glasses read``, ``glasses listen`` and ``glasses devices`` through ``glasses.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from perception_support.cli import only_present_commands
from perception_support.fake_sounddevice import FakeSoundDevice, speaker, usb_mic
from perception_support.signs import draw
from perception_support.speech import two_phrases, write_wav

from glasses import cli
from glasses.extras import MissingExtraError, pip_install
from glasses.perception.asr import MODEL_ENV

pytestmark = pytest.mark.model


@pytest.fixture(autouse=True)
def _commands(monkeypatch: pytest.MonkeyPatch) -> None:
    only_present_commands(monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sign_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import cv2

    path = tmp_path_factory.mktemp("signs") / "sign.png"
    cv2.imwrite(str(path), draw([[(40, "西湖 West Lake")], [(40, "出口 EXIT")]], size=(640, 320)))
    return path


@pytest.fixture(scope="module")
def two_phrases_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("audio") / "two.wav", two_phrases())


def test_read_prints_rows_in_reading_order(
    capsys: pytest.CaptureFixture[str], sign_png: Path
) -> None:
    code, out, _ = run(capsys, "read", str(sign_png))
    assert code == 0
    assert out.splitlines() == ["西湖 West Lake", "出口 EXIT"]


def test_read_json_has_boxes_and_confidence(
    capsys: pytest.CaptureFixture[str], sign_png: Path
) -> None:
    code, out, _ = run(capsys, "read", str(sign_png), "--json")
    report = json.loads(out)
    assert code == 0 and (report["width"], report["height"]) == (640, 320)
    lines = report["lines"]
    assert [x["text"] for x in lines] == ["西湖 West Lake", "出口 EXIT"]
    assert all(len(x["box"]) == 4 and 0.5 <= x["confidence"] <= 1.0 for x in lines)
    assert [x["row"] for x in lines] == sorted(x["row"] for x in lines)


def test_read_from_a_camera_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sign_png: Path
) -> None:
    import shutil

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):  # a "camera" that looks at the same sign for a while
        shutil.copy(sign_png, folder / f"{i}.png")
    code, out, _ = run(capsys, "read", "--camera", str(folder), "--timeout", "5")
    assert code == 0 and out.splitlines()[0] == "西湖 West Lake"


def test_watch_prints_each_sign_once_while_it_stays_in_view(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sign_png: Path
) -> None:
    import shutil

    import cv2

    other = tmp_path / "other.png"
    cv2.imwrite(str(other), draw([[(40, "北站 North Station")]], size=(640, 320)))
    folder = tmp_path / "walk"
    folder.mkdir()
    # Looking at one sign for 12 frames, then turning to another for 14.
    for i in range(26):
        shutil.copy(sign_png if i < 12 else other, folder / f"{i:03d}.png")
    code, out, err = run(capsys, "read", "--camera", str(folder), "--watch", "--fps", "20")
    assert code == 0, err
    assert out.splitlines() == ["西湖 West Lake", "出口 EXIT", "北站 North Station"]
    code, out, _ = run(capsys, "read", "--camera", str(folder), "--watch", "--fps", "20", "--json")
    updates = [json.loads(line) for line in out.splitlines()]
    assert [len(u["lines"]) for u in updates] == [2, 1] and updates[0]["frame"] < 12 <= updates[1][
        "frame"
    ]


def test_read_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "read", str(tmp_path / "missing.png"))
    assert code == 2 and "image not found" in err
    (tmp_path / "bad.jpg").write_text("not an image")
    code, _, err = run(capsys, "read", str(tmp_path / "bad.jpg"))
    assert code == 2 and "cannot read" in err
    code, _, err = run(capsys, "read", "--camera", "7")
    assert code == 2 and "no camera 7" in err
    code, _, err = run(capsys, "read", str(tmp_path / "missing.png"), "--watch")
    assert code == 2 and "--watch reads from a camera" in err
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((100, 100, 3), 255, dtype=np.uint8))
    code, out, err = run(capsys, "read", str(blank))
    assert code == 0 and out == "" and "no text found" in err


def test_listen_prints_segments_and_names_the_missing_model(
    capsys: pytest.CaptureFixture[str], two_phrases_wav: Path
) -> None:
    code, out, err = run(capsys, "listen", "--file", str(two_phrases_wav))
    assert code == 0
    rows = out.splitlines()
    assert len(rows) == 2 and all(r.endswith("s  speech") for r in rows)
    first_start = float(rows[0].split()[0])
    assert 0.1 < first_start < 0.7
    assert "glasses models pull sensevoice" in err


def test_listen_json(capsys: pytest.CaptureFixture[str], two_phrases_wav: Path) -> None:
    code, out, _ = run(capsys, "listen", "--file", str(two_phrases_wav), "--json")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [e["event"] for e in events] == ["start", "segment", "start", "segment"]
    assert events[1]["end_s"] < events[2]["start_s"]


def test_listen_with_a_recogniser_prints_transcripts_with_language(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    two_phrases_wav: Path,
) -> None:
    pytest.importorskip("sherpa_onnx")
    from asr_support.tiny_sensevoice import build_tiny_sensevoice

    folder = build_tiny_sensevoice(tmp_path / "sensevoice", language="ko")
    monkeypatch.setenv(MODEL_ENV, str(folder))  # the default folder comes from the environment
    code, out, err = run(capsys, "listen", "--file", str(two_phrases_wav))
    assert code == 0 and "models pull" not in err
    rows = out.splitlines()
    assert len(rows) == 2 and all("[ko]" in r for r in rows)
    assert all(any("\uac00" <= ch <= "\ud7af" for ch in r) for r in rows)  # Hangul text


def test_listen_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, two_phrases_wav: Path
) -> None:
    code, _, err = run(capsys, "listen", "--file", str(tmp_path / "none.wav"))
    assert code == 2 and "audio file not found" in err
    (tmp_path / "junk.wav").write_bytes(b"RIFF0000WAVEjunk")
    code, _, err = run(capsys, "listen", "--file", str(tmp_path / "junk.wav"))
    assert code == 2 and "cannot read audio file" in err
    code, _, err = run(
        capsys, "listen", "--file", str(two_phrases_wav), "--asr-model", str(tmp_path / "m")
    )
    assert code == 2 and "speech model folder not found" in err and "models pull" in err


def test_listen_without_the_vad_model_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, two_phrases_wav: Path
) -> None:
    import glasses.perception.vad as vad

    monkeypatch.setattr(vad, "MODEL_FILE", "not-there.onnx")
    code, _, err = run(capsys, "listen", "--file", str(two_phrases_wav))
    assert code == 2 and pip_install("audio") in err


def test_listen_from_a_missing_microphone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import glasses.sources.microphone as microphone

    monkeypatch.setattr(microphone, "sounddevice_module", lambda: FakeSoundDevice([speaker()]))
    code, _, err = run(capsys, "listen", "--mic")
    assert code == 2 and "no audio input device" in err


def test_devices_lists_inputs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import glasses.sources.devices as devices

    fake = FakeSoundDevice([speaker(), usb_mic()], default_input=1)
    monkeypatch.setattr(devices, "sounddevice_module", lambda: fake)
    code, out, _ = run(capsys, "devices", "--no-probe")
    assert code == 0
    assert " *[1] USB PnP Audio Device: Audio (hw:1,0): 1 ch, 48000 Hz (ALSA)" in out
    assert "Cameras:" in out
    code, out, _ = run(capsys, "devices", "--no-probe", "--json")
    assert json.loads(out)["audio_inputs"][0]["index"] == 1


def test_devices_without_the_audio_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import glasses.sources.devices as devices

    def missing() -> None:
        raise MissingExtraError(
            f"the Python module 'sounddevice' is needed ... {pip_install('audio')}"
        )

    monkeypatch.setattr(devices, "sounddevice_module", missing)
    code, out, _ = run(capsys, "devices", "--no-probe")
    assert code == 0 and pip_install("audio") in out and "Cameras:" in out
