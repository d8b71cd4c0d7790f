"""A first start on an empty folder (a new container's volume, a new server): ``site-tools webhook
--init-checkout`` fetches the town's repository there before reading its ``mkdocs.yml``.

A bare repository in tmp_path is the town's; what the IT person would check: the folder then holds the town's
``main``, a second start leaves the checkout alone, and a missing or wrong address says what to set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from site_tools.cli.main import main
from site_tools.service.first_clone import FirstCloneError, clone_if_empty
from site_tools.settings import Settings

from .test_checkout import Remote, git


def test_an_empty_folder_gets_the_towns_main(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    head = remote.push("Secondo commit")
    volume = tmp_path / "volume"
    volume.mkdir()
    settings = Settings.from_env({"SITE_TOOLS_REPOSITORY_URL": str(remote.bare)})

    assert clone_if_empty(volume, settings) == head
    assert (volume / "mkdocs.yml").read_text() == (remote.editor.root / "mkdocs.yml").read_text()
    assert git(volume, "rev-parse", "HEAD") == head

    remote.push("Terzo commit")
    assert clone_if_empty(volume, settings) is None  # a checkout is there: the service follows main from now on
    assert git(volume, "rev-parse", "HEAD") == head


def test_a_start_that_failed_half_way_is_finished_at_the_next(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    volume = tmp_path / "volume"
    volume.mkdir()
    subprocess.run(["git", "init", "--quiet", str(volume)], check=True)  # the fetch never came
    settings = Settings.from_env({"SITE_TOOLS_REPOSITORY_URL": str(remote.bare)})
    assert clone_if_empty(volume, settings) == git(remote.editor.root, "rev-parse", "HEAD")
    assert (volume / "mkdocs.yml").exists()


def test_no_address_to_fetch_from_names_the_variables(tmp_path: Path) -> None:
    with pytest.raises(FirstCloneError, match="SITE_TOOLS_REPOSITORY .*SITE_TOOLS_REPOSITORY_URL"):
        clone_if_empty(tmp_path, Settings.from_env({}))


def test_a_wrong_address_says_what_to_check_and_hides_the_token(tmp_path: Path) -> None:
    url = "https://x-access-token:ghp_secret123@127.0.0.1:9/comune/avvisi.git"
    with pytest.raises(FirstCloneError) as raised:
        clone_if_empty(tmp_path / "volume", Settings.from_env({"SITE_TOOLS_REPOSITORY_URL": url}))
    assert "ghp_secret123" not in str(raised.value)
    assert "non riesco a scaricare il repository del Comune" in str(raised.value)


def test_a_folder_with_other_files_is_not_overwritten(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "appunti.txt").write_text("non toccare")
    with pytest.raises(FirstCloneError, match="not a Git checkout"):
        clone_if_empty(volume, Settings.from_env({"SITE_TOOLS_REPOSITORY_URL": str(remote.bare)}))
    assert (volume / "appunti.txt").read_text() == "non toccare"


def test_the_command_stops_before_serving_when_the_clone_fails(tmp_path: Path) -> None:
    env = {
        "WHATSAPP_APP_SECRET": "s",
        "WHATSAPP_VERIFY_TOKEN": "v",
        "SITE_TOOLS_REPOSITORY_URL": str(tmp_path / "nowhere.git"),
    }
    volume = tmp_path / "volume"
    volume.mkdir()
    cwd = os.getcwd()
    os.chdir(volume)
    try:
        result = CliRunner().invoke(main, ["webhook", "--init-checkout", "--port", "1"], env=env)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1
    assert "non riesco a scaricare il repository del Comune" in result.output
