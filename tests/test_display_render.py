"""Rasterising with the real system CJK font: pixel levels, glyph checks and a real OCR read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import ImageOps

from firmware_bridge.protocol.geometry import PROFILES, DisplayGeometry
from glasses.display.fonts import (
    INSTALL_HINT,
    FontNotFoundError,
    MissingGlyphsError,
    bitmap_strike,
    find_font,
    small_size_font,
)
from glasses.display.raster import Renderer, levels_to_image
from glasses.display.scene import FontRole
from glasses.display.statusline import IconKind
from glasses.display.views import (
    CaptionView,
    LinkState,
    LlmSource,
    Mode,
    Screen,
    StatusBar,
    TextView,
)

pytestmark = pytest.mark.model

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
STATUS = StatusBar(Mode.TRANSLATE, LinkState.CONNECTED, 64, charging=True, llm=LlmSource.REMOTE)


@pytest.fixture(scope="module", params=sorted(PROFILES))
def renderer(request: pytest.FixtureRequest) -> Renderer:
    return Renderer(PROFILES[request.param])


@pytest.fixture(scope="module")
def big() -> Renderer:
    return Renderer(PROFILES["640x400x4"])


def _captions() -> CaptionView:
    return (
        CaptionView(max_lines=3)
        .with_final("我们去 Hangzhou 火车站 at 5pm。")
        .with_partial("然后去西湖 West Lake")
    )


def test_every_profile_renders_levels(renderer: Renderer) -> None:
    geometry = renderer.geometry
    for screen in (
        Screen(_captions(), STATUS),
        Screen(renderer.page_view("下一站 West Lake 西湖。" * 40).next_page(), STATUS),
        Screen(TextView("")),
    ):
        levels = renderer.render(screen)
        assert levels.dtype == np.uint8
        assert levels.shape == (geometry.height_px, geometry.width_px)
        assert int(levels.max()) <= geometry.max_level
    assert int(renderer.render(Screen(_captions(), STATUS)).max()) == geometry.max_level
    assert not renderer.render(Screen(TextView(""))).any()


@pytest.mark.parametrize("name", ["576x136x1", "128x64x1"])
def test_one_bpp_is_pure_on_off(name: str) -> None:
    levels = Renderer(PROFILES[name]).render(Screen(_captions(), STATUS))
    assert set(np.unique(levels).tolist()) == {0, 1}


def test_four_bpp_uses_grey_levels(big: Renderer) -> None:
    levels = big.render(Screen(_captions(), STATUS))
    assert len(np.unique(levels)) > 4  # antialiased edges, not thresholded


def test_partial_text_looks_different_from_final(renderer: Renderer) -> None:
    final = renderer.render(Screen(CaptionView().with_final("Hello 你好")))
    partial = renderer.render(Screen(CaptionView().with_partial("Hello 你好")))
    assert (final != partial).any()
    if renderer.geometry.bpp > 1:
        assert int(partial.max()) < int(final.max())  # dimmer
    else:
        assert int(partial.sum()) > int(final.sum())  # same glyphs plus a dotted underline


def test_render_text_fills_the_display_without_status(big: Renderer) -> None:
    levels = big.render_text("第一行\nsecond line")
    lit_rows = np.flatnonzero(levels.any(axis=1))
    assert lit_rows[0] < big.layout.body.line_height_px  # no status bar above


def test_levels_to_image_scales_to_8_bits() -> None:
    levels = np.array([[0, 1, 2, 3]], dtype=np.uint8)
    image = levels_to_image(levels, 2)
    assert image.mode == "L" and np.asarray(image).tolist() == [[0, 85, 170, 255]]
    mono = levels_to_image(np.array([[0, 1]], dtype=np.uint8), 1)
    assert np.asarray(mono).tolist() == [[0, 255]]


def test_font_size_can_be_configured() -> None:
    small = Renderer(PROFILES["640x400x4"], font_size_px=16)
    large = Renderer(PROFILES["640x400x4"], font_size_px=40)
    assert small.layout.body_lines() > large.layout.body_lines()


def test_missing_glyphs_are_an_error_not_tofu() -> None:
    if not os.path.isfile(DEJAVU):
        pytest.skip("DejaVuSans is not installed")
    renderer = Renderer(PROFILES["128x64x1"], font_path=DEJAVU)
    assert renderer.render_text("Latin only").any()
    with pytest.raises(MissingGlyphsError) as caught:
        renderer.render_text("下一站 West Lake 西湖")
    message = str(caught.value)
    for char in "下一站西湖":
        assert char in message and f"U+{ord(char):04X}" in message
    assert DEJAVU in message and INSTALL_HINT in message
    assert caught.value.characters == tuple(sorted("下一站西湖"))


def test_missing_glyph_check_knows_real_glyphs(big: Renderer) -> None:
    assert big.missing_glyphs("Hello 你好 □■ “quotes” …") == []
    assert big.missing_glyphs("ok \U0001f600") == ["\U0001f600"]  # no emoji in Noto CJK
    assert big.missing_glyphs(" \u3000\u00a0\n") == []  # whitespace needs no glyph


def test_configured_font_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError, match="fonts-noto-cjk"):
        find_font(str(tmp_path / "nope.ttf"))
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    with pytest.raises(FontNotFoundError, match="fonts-noto-cjk"):
        Renderer(PROFILES["128x64x1"], font_path=str(broken))


def test_no_cjk_font_anywhere_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import glasses.display.fonts as fonts

    monkeypatch.setattr(fonts, "_fontconfig_match", lambda *a: fonts.FontFile(DEJAVU))
    monkeypatch.setattr(fonts, "WELL_KNOWN_FONTS", ("/nonexistent/font.ttc",))
    with pytest.raises(FontNotFoundError) as caught:
        find_font()
    assert "sudo apt install fonts-noto-cjk" in str(caught.value)


def test_system_font_is_found_and_covers_cjk() -> None:
    font = find_font()
    assert os.path.isfile(font.path)
    assert Renderer(DisplayGeometry(128, 64, 1)).missing_glyphs("中文日本語한국어") == []


@pytest.fixture(scope="module")
def ocr() -> object:
    rapidocr = pytest.importorskip(
        "rapidocr_onnxruntime", reason="the OCR check needs rapidocr-onnxruntime (test extra)"
    )
    return rapidocr.RapidOCR()


@pytest.mark.parametrize("name", ["640x400x4", "128x64x1"])
def test_ocr_reads_rendered_mixed_text(ocr: object, name: str) -> None:
    geometry = PROFILES[name]
    levels = Renderer(geometry).render_text("下一站 West Lake 西湖")
    # Recognisers are trained on dark text on light paper, at more than 20 px per line.
    image = ImageOps.invert(levels_to_image(levels, geometry.bpp))
    image = image.resize((image.width * 2, image.height * 2)).convert("RGB")
    result, _ = ocr(np.asarray(image))  # type: ignore[operator]
    read = "".join(text for _box, text, _score in result or []).replace(" ", "")
    for word in ("下一站", "West", "Lake", "西湖"):
        assert word in read, read


# Every profile's screen read back: 今 (which the outline font thresholded to 1 bit at 12 px
# drew as 令), a Chinese word that must not be split (牛肉面) and English with its space.
MIXED = "今天吃牛肉面 West Lake"  # (OCR reads no space between two Han characters)


@pytest.mark.parametrize(
    ("name", "scale", "lines", "read"),
    [
        ("640x400x4", 2, [MIXED], MIXED),
        ("576x136x1", 3, [MIXED], MIXED),
        # Broken at the space (lines are read joined with nothing).
        ("128x64x1", 4, ["今天吃牛肉面 West", "Lake"], "今天吃牛肉面 WestLake"),
    ],
)
def test_every_profile_reads_back_exactly(
    ocr_read: Any, name: str, scale: int, lines: list[str], read: str
) -> None:
    renderer = Renderer(PROFILES[name])
    screen = Screen(TextView(MIXED), STATUS)
    scene = renderer.layout.scene(screen)
    assert [run.text for run in scene.runs if run.role is FontRole.BODY] == lines
    image = levels_to_image(renderer.render(screen), renderer.geometry.bpp)
    body = image.crop((0, renderer.layout.body_box().y_px, image.width, image.height))
    assert ocr_read(body, scale, rows=True) == read  # 今 is not 令, 牛肉面 is whole


def test_one_bit_small_text_uses_the_bitmap_font() -> None:
    renderer = Renderer(PROFILES["128x64x1"])
    assert renderer.font_files[FontRole.BODY] == bitmap_strike(12)
    assert Renderer(PROFILES["640x400x4"]).font_files[FontRole.BODY] == find_font()


def test_without_the_bitmap_font_small_text_falls_back_with_a_warning(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    outline = find_font()
    assert small_size_font(12, outline, str(tmp_path)) == outline
    assert "sudo apt install xfonts-wqy" in caplog.text
    assert small_size_font(22, outline, str(tmp_path)) == outline  # big text: outline anyway


@pytest.mark.parametrize(("name", "scale"), [("640x400x4", 2), ("576x136x1", 3), ("128x64x1", 4)])
def test_status_bar_reads_back_in_words(ocr_read: Any, name: str, scale: int) -> None:
    renderer = Renderer(PROFILES[name])
    screen = Screen(TextView(""), STATUS)
    image = levels_to_image(renderer.render(screen), renderer.geometry.bpp)
    bar = image.crop((0, 0, image.width, renderer.layout.body_box().y_px - 1))
    read = ocr_read(bar, scale)
    if name == "128x64x1":  # icons for the link, the cloud and the battery, few words
        assert "TRANS" in read and "AI" in read and "64" in read, read
        kinds = [mark.icon.kind for mark in renderer.layout.scene(screen).icons]
        assert kinds == [IconKind.CLOUD, IconKind.LINK, IconKind.BATTERY, IconKind.BOLT]
        assert not any("LINK" in run.text for run in renderer.layout.scene(screen).runs)
    else:
        for words in ("TRANSLATE", "Model online", "Linked", "64% charging"):
            assert words in read, read
