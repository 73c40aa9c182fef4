"""Settings: declared once, layered, every problem reported, every setting documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import SETTINGS, Settings, SettingsError, load_settings, render_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_and_the_page_is_current():
    text = DOC.read_text(encoding="utf-8")
    for s in SETTINGS:
        assert f"`{s.name}`" in text and s.env in text and s.help
    assert text == render_doc(), "regenerate: python -m service.settings > docs/settings.md"


def test_layers_defaults_file_environment_options(tmp_path):
    toml = tmp_path / "zicht.toml"
    toml.write_text('port = 9000\ncors_origins = "*"\nthreads = 2\n')
    s = load_settings(
        toml,
        environ={"ZICHT_PORT": "9100", "ZICHT_TRUST_FORWARDED_FOR": "yes"},
        overrides={"threads": 8, "host": None},
    )
    assert (s.port, s.cors_origins, s.threads, s.host) == (9100, "*", 8, "127.0.0.1")
    assert s.trust_forwarded_for is True
    assert load_settings(environ={}) == Settings()


def test_yaml_file_and_config_from_environment(tmp_path):
    yml = tmp_path / "zicht.yaml"
    yml.write_text("cache_size: 10\nquery_timeout_s: 2.5\n")
    s = load_settings(environ={"ZICHT_CONFIG": str(yml)})
    assert (s.cache_size, s.query_timeout_s) == (10, 2.5)


def test_all_problems_are_reported_together(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text('prot = 1\nport = "x"\n')
    with pytest.raises(SettingsError) as info:
        load_settings(toml, environ={"ZICHT_THREADS": "0", "ZICHT_API_KEYS": "nokey"})
    text = " | ".join(info.value.problems)
    for part in ("unknown setting 'prot'", "port: expected int", "threads: must be", "api_keys"):
        assert part in text


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().port = 1  # type: ignore[misc]
