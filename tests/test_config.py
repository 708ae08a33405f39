"""Settings: defaults, profiles, the file, ``--set`` overrides, and errors that name the key
and what it allows; the README's configuration table matches the dataclass docs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import glasses.cli
from glasses.commands.run import describe_markdown
from glasses.settings import (
    MAX_CONFIG_BYTES,
    PROFILES,
    ConfigError,
    Settings,
    build_settings,
    describe,
    load_settings,
)

pytestmark = pytest.mark.fast

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


def test_saving_power_modes_are_a_short_list_of_names_empty_by_default() -> None:
    assert Settings().power.saving_power_modes == ()
    assert load_settings(overrides=["power.saving_power_modes=7W"]).power.saving_power_modes == (
        "7W",
    )
    given = build_settings({"power": {"saving_power_modes": ["1", "MAXN_SUPER", "7W"]}})
    assert given.power.saving_power_modes == ("1", "MAXN_SUPER", "7W")
    assert build_settings({"power": {"saving_power_modes": []}}).power.saving_power_modes == ()
    names = "power.saving_power_modes must be a list of at most 8 names (1 to 32 letters"
    for bad, message in [
        (3, "power.saving_power_modes must be a list of strings, got 3"),
        ([1], "power.saving_power_modes must be a list of strings, got [1]"),
        ([""], names),
        (["7 W"], names),
        (["x" * 33], names),
        ([str(n) for n in range(9)], names),
        (["7W", "7w"], "power.saving_power_modes must be a list without repeats"),
    ]:
        with pytest.raises(ConfigError) as err:
            build_settings({"power": {"saving_power_modes": bad}})
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


@pytest.mark.parametrize(
    "override",
    [
        "llm.temperature=nan",
        "audio.vad_threshold=nan",
        "llm.timeout_s=nan",
        "log.status_interval_s=nan",
        "camera.idle_close_s=inf",
        "remote.stall_budget_s=-inf",
    ],
)
def test_nan_and_infinity_are_refused(override: str) -> None:
    key, _, value = override.partition("=")
    with pytest.raises(ConfigError) as err:
        load_settings(overrides=[override])
    assert f"{key} must be a finite number, got {value}" in str(err.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("display.url=", "display.url must be a non-empty string, got ''"),
        ("camera.source=", "camera.source must be a non-empty string"),
        ('display.url="/dev/tty\\u0000"', "display.url must be text without NUL characters"),
        ('remote.url="http://a\\u0000b/v1"', "remote.url must be text without NUL characters"),
        ('llm.model="a\\u0000"', "llm.model must be text without NUL characters"),
    ],
)
def test_ports_urls_and_paths_are_not_empty_and_have_no_nul(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(overrides=[override])
    assert message in str(err.value)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "glasses.toml"
    config.write_text(
        "[llm]\ntemperature = nan\ntimeout_s = nan\nnope = 1\n[audio]\nvad_threshold = nan\n"
        '[camera]\nidle_close_s = inf\n[display]\nurl = ""\n[log]\nstatus_interval_s = nan\n'
        "[extra]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    lines = str(err.value).splitlines()
    assert lines[0] == f"{config}: 8 problems:"
    assert len(lines) == 9 and len(err.value.problems) == 8
    for key in ("llm.temperature", "llm.timeout_s", "audio.vad_threshold", "log.status_interval_s"):
        assert f"  {key} must be a finite number, got nan" in lines
    assert "  camera.idle_close_s must be a finite number, got inf" in lines
    assert "  display.url must be a non-empty string, got ''" in lines
    assert any(line.startswith("  unknown key llm.nope") for line in lines)
    assert any(line.startswith("  unknown section [extra]") for line in lines)


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes(b'[llm]\nmodel = "caf\xe9"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert "not UTF-8 text: byte 0xe9 at line 2, column 13 (byte offset 18)" in str(err.value)
    config.write_bytes(b'\xef\xbb\xbf[llm]\nmodel = "x"\n')  # a BOM, as some editors write
    assert load_settings(config).llm.model == "x"


def test_deeply_nested_tables_are_an_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "deep.toml"
    config.write_text("[llm]\nmodel = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_settings(config)
    with pytest.raises(ConfigError) as err:  # --set: not TOML, so taken as text
        load_settings(overrides=["llm.threads=" + "[" * 2000 + "]" * 2000])
    assert "llm.threads must be an integer, got '[[[" in str(err.value)
    assert len(str(err.value)) < 200
    config.write_text("[llm]\nmodel = " + "[" * 50 + "]" * 50 + "\n")  # a short repr, one line
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert "llm.model must be a string, got [[[" in str(err.value)
    assert len(str(err.value)) < 200


@pytest.mark.timeout(20)
def test_only_a_regular_file_of_sane_size_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(ConfigError, match="it is a named pipe, give a TOML file"):
        load_settings(fifo)
    with pytest.raises(ConfigError, match="it is a directory"):
        load_settings(tmp_path)
    if Path("/dev/zero").exists():  # never ends: reading it would exhaust memory
        with pytest.raises(ConfigError, match="it is a character device"):
            load_settings(Path("/dev/zero"))
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        load_settings(big)


def test_run_check_loads_the_model_folders_it_would_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.run",))
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("GLASSES_SENSEVOICE_DIR", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert glasses.cli.main(["run", "--check", "--llm-model", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "the models configured cannot be loaded" in err and f"{empty} has no tokenizer" in err
    assert glasses.cli.main(["run", "--check", "--llm-model", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert glasses.cli.main(["run", "--check", "--set", "llm.model=", "--asr-model", str(empty)])
    assert f"asr.model_dir: {empty} is not a speech model folder" in capsys.readouterr().err
    # No audio: no speech model is loaded, so none is checked.
    argv = ["run", "--check", "--set", "llm.model=", "--asr-model", str(empty), "--no-audio"]
    assert glasses.cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["asr"]["model_dir"] == str(empty)
    # LOOK's vision-language model is loaded whenever look.model names one.
    argv = ["run", "--check", "--set", "llm.model=", "--no-audio", "--set", f"look.model={empty}"]
    assert glasses.cli.main(argv) == 2
    assert (
        f"look.model {str(empty)!r}: {empty / 'config.json'} is missing" in capsys.readouterr().err
    )
    # The default model, not pulled: the daemon runs without it, and --check says so.
    assert glasses.cli.main(["run", "--check"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["llm"]["model"] == "qwen3-0.6b-int4"
    assert "glasses: note: llm.model: no model folder 'qwen3-0.6b-int4'" in captured.err
