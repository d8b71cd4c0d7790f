"""The process's settings: every environment variable in one model, secrets hidden, bad values explained."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from site_tools.cli.main import main
from site_tools.settings import NAMES, Settings, SettingsError, current, table

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reference" / "environment.md"


def test_the_environment_page_is_generated_from_the_model() -> None:
    assert PAGE.read_text(encoding="utf-8") == table(), (
        "docs/reference/environment.md is out of date: run `python -m site_tools.settings`"
    )
    for name in NAMES:
        assert f"| `{name}` |" in PAGE.read_text(encoding="utf-8")


def test_no_module_but_settings_reads_the_environment() -> None:
    readers = []
    for path in sorted((ROOT / "site_tools").rglob("*.py")):
        if path.name == "settings.py" and path.parent.name == "site_tools":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            read = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "getenv")
                and "environ" in ast.unparse(node.func.value) + ast.unparse(node.func)
            )
            if read:
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    # The web editor's local backend is read by its own module, which another part of the project owns.
    assert [r for r in readers if "site/admin.py" not in r] == []


def test_a_bad_number_names_the_variable_and_what_it_expects() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"WHATSAPP_MPS": "abc"})
    message = str(raised.value)
    assert "WHATSAPP_MPS" in message and "«abc»" in message and "un numero" in message


def test_a_bad_secret_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SITE_TOOLS_DEBUG": "forse", "WHATSAPP_TOKEN": "tok-very-secret"})
    assert "SITE_TOOLS_DEBUG" in str(raised.value) and "true o false" in str(raised.value)
    assert "tok-very-secret" not in str(raised.value)


def test_the_cli_stops_on_a_bad_variable_with_the_italian_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_MPS", "abc")
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 1
    assert "Variabile d'ambiente WHATSAPP_MPS" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, ValueError)


def test_secrets_stay_out_of_repr_and_are_scrubbed() -> None:
    settings = Settings.from_env({"WHATSAPP_TOKEN": "tok-123", "SITE_TOOLS_DB": "postgresql://u:pw-456@h/db"})
    assert "tok-123" not in repr(settings) and "pw-456" not in repr(settings)
    assert settings.scrub("sent with tok-123") == "sent with •••"


def test_values_are_normalised() -> None:
    settings = Settings.from_env(
        {"WHATSAPP_MPS": "5000", "WHATSAPP_API_URL": "http://127.0.0.1:9/v24.0/", "GITHUB_ACTIONS": "true"}
    )
    assert settings.whatsapp_mps == 1000  # clamped to the Cloud API's ceiling
    assert settings.whatsapp_api_url == "http://127.0.0.1:9/v24.0"
    assert settings.github_actions is True
    assert Settings.from_env({"WHATSAPP_TOKEN": ""}).whatsapp_token is None  # empty is unset


def test_current_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-20 10:00")
    assert current().now == "2026-11-20 10:00"
    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-21 10:00")
    assert current().now == "2026-11-21 10:00"


def _options(command: click.Command, ctx: click.Context) -> Iterator[click.Parameter]:
    yield from command.params
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from _options(sub, ctx)


def test_every_variable_an_option_reads_is_declared_in_the_model() -> None:
    with click.Context(main) as ctx:
        read = {p.envvar for p in _options(main, ctx) if isinstance(p.envvar, str)}
    assert read and read <= set(NAMES), sorted(read - set(NAMES))
