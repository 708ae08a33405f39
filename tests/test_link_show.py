"""``glasses show``: through the real CLI entry point, against a fake device on a pty."""

from __future__ import annotations

import numpy as np
import pytest
from test_link_fakes import FakeDevice, PtyDevice

from glasses import cli

pytestmark = pytest.mark.fast


@pytest.fixture
def only_show(monkeypatch: pytest.MonkeyPatch) -> None:
    # The other subcommands are not needed here (and may be unfinished in a working tree).
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("glasses.commands.show",))


def renderer_or_skip() -> None:
    raster = pytest.importorskip("glasses.display.raster")
    geometry = pytest.importorskip("firmware_bridge.protocol.geometry")
    try:
        raster.Renderer(geometry.DisplayGeometry(128, 64, 1))
    except Exception as exc:  # no usable font on this machine
        pytest.skip(f"renderer unavailable: {exc}")


@pytest.mark.process
@pytest.mark.usefixtures("only_show")
def test_show_draws_text_and_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    renderer_or_skip()
    fake = FakeDevice(width_px=128, height_px=64, bpp=1, max_payload=256, window=2)
    with PtyDevice(fake) as pty:
        status = cli.main(["show", "Hello", "--display", pty.path, "--timeout", "10"])
        with pty.lock:
            front = fake.screen.front.copy()
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.startswith("shown on fake-board (128x64x1, firmware 1.2.3): ")
    assert out.rstrip().endswith(" s") and "bytes sent in" in out
    assert np.count_nonzero(front) > 20, "some ink on the screen"


@pytest.mark.usefixtures("only_show")
def test_show_wrong_port_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["show", "x", "--display", "/dev/ttyDOESNOTEXIST"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("glasses: error: cannot open the display link '/dev/ttyDOESNOTEXIST'")
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.usefixtures("only_show")
def test_show_unsupported_version_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with PtyDevice(FakeDevice(versions=(2, 2))) as pty:
        status = cli.main(["show", "x", "--display", pty.path])
    _, err = capsys.readouterr()
    assert status == 2
    assert "supports protocol versions 2..2, this host supports 1..1" in err
    assert "update the host or the firmware" in err


@pytest.mark.usefixtures("only_show")
def test_show_silent_device_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    with PtyDevice(FakeDevice(mute=True)) as pty:
        status = cli.main(["show", "x", "--display", pty.path, "--timeout", "0.3"])
    _, err = capsys.readouterr()
    assert status == 2 and "no answer from the display" in err


@pytest.mark.process
@pytest.mark.usefixtures("only_show")
def test_show_says_when_the_text_was_cut(capsys: pytest.CaptureFixture[str]) -> None:
    renderer_or_skip()
    fake = FakeDevice(width_px=128, height_px=64, bpp=1, max_payload=256, window=2)
    text = "word " * 200
    with PtyDevice(fake) as pty:
        assert cli.main(["show", text, "--display", pty.path, "--timeout", "10"]) == 0
        out = capsys.readouterr().out
        assert "shown on fake-board (128x64x1, firmware 1.2.3) but cut to fit: the first " in out
        assert " of 999 characters, then …: " in out, out
        assert cli.main(["show", "word " * 3, "--display", pty.path, "--timeout", "10"]) == 0
        assert "cut" not in capsys.readouterr().out
