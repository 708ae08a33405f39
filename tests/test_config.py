"""Settings: defaults, profiles, the file, ``--set`` overrides, and errors that name the key
and what it allows; the README's configuration table matches the dataclass docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from glasses.commands.run import describe_markdown
from glasses.config import (
    PROFILES,
    ConfigError,
    Settings,
    build_settings,
    describe,
    load_settings,
)

ROOT = Path(__file__).resolve().parent.parent


def test_defaults() -> None:
    s = load_settings()
    assert s == Settings()
    assert s.translate.languages == ("zh", "en")
    assert s.modes.enabled == ("captions", "translate", "read", "assist")
    assert s.log.level == "warning"  # quiet by default


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_load_and_differ_from_defaults(profile: str) -> None:
    s = load_settings(profile=profile)
    assert s != Settings()
    assert s.llm.threads > 0 and s.camera.source != "off"


def test_precedence_profile_file_set(tmp_path: Path) -> None:
    config = tmp_path / "glasses.toml"
    config.write_text(
        'profile = "pi5"\n[llm]\nthreads = 2\nmodel = "my-model"\n[display]\ncaption_lines = 4\n'
    )
    s = load_settings(config, overrides=["llm.threads=4", "translate.languages=['ja', 'en']"])
    assert s.camera.source == "picamera2"  # from the profile
    assert (s.llm.model, s.display.caption_lines) == ("my-model", 4)  # from the file
    assert s.llm.threads == 4 and s.translate.languages == ("ja", "en")  # from --set
    assert load_settings(config, profile="jetson-orin").camera.source == "nvargus:0"


def test_string_settings_take_set_values_as_they_are() -> None:
    s = load_settings(
        overrides=["display.url=socket://127.0.0.1:7000", "llm.model=", "asr.model_dir=1234"]
    )
    assert (s.display.url, s.llm.model, s.asr.model_dir) == ("socket://127.0.0.1:7000", "", "1234")
    assert load_settings(overrides=['llm.model="quoted"']).llm.model == "quoted"
    assert load_settings(overrides=["llm.temperature=1"]).llm.temperature == 1.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("llm.threads=four", "llm.threads must be an integer, got 'four'"),
        ("llm.threads=-1", "llm.threads must be between 0 and 64, got -1"),
        ("asr.partials=1", "asr.partials must be true or false"),
        ("asr.language=xx", "asr.language must be one of auto, zh, en, ja, ko, yue, got 'xx'"),
        ("modes.start=reading", "modes.start must be one of captions, translate, read, assist"),
        ("modes.enabled=['captions', 'captions']", "modes.enabled must be a non-empty list"),
        ("modes.enabled=['captions', 'tv']", "modes.enabled must be a list of one of captions"),
        ("translate.languages=['zh']", "translate.languages must be a list of 2"),
        ("audio.source=usb", "audio.source must be mic, mic:DEVICE, file:PATH or off"),
        ("llm.nope=1", "unknown key llm.nope (known: model, variant, threads"),
        ("nope.key=1", "unknown section [nope]"),
        ("threads=4", "--set takes section.key=value"),
    ],
)
def test_errors_name_the_key_and_the_allowed_values(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(overrides=[override])
    assert message in str(err.value)


def test_cross_checks_and_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"modes\.start must be one of modes\.enabled"):
        build_settings({"modes": {"enabled": ["read"], "start": "captions"}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm\nthreads = 4\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="profile must be one of pi5, jetson-orin"):
        load_settings(profile="pi3")
    with pytest.raises(ConfigError, match=r"\[llm\] must be a table"):
        build_settings({"llm": 3})


def test_every_setting_is_documented_and_in_the_readme() -> None:
    rows = describe()
    assert len({key for key, _, _ in rows}) == len(rows) > 30
    assert all(doc.strip() for _, _, doc in rows)
    readme = (ROOT / "README.md").read_text()
    assert describe_markdown() in readme, "README.md: regenerate with glasses run --describe-config"
