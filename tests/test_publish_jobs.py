"""Publish jobs run inside the service: the command's own run, its lines streamed, its result kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from site_tools.cli.inprocess import run_command
from site_tools.service.publishing import RESULT_PREFIX, Runner, stream
from site_tools.store import Store

from .conftest import Town
from .test_parse_cache import URGENT, git
from .test_urgent_first import adopted


def runner_for(town: Town, url: str, **kwargs: Any) -> Runner:
    config = town.config
    return Runner(lambda: config, lambda: Store.open(url), run_command, db_url=url, **kwargs)


async def run_one(runner: Runner, key: str, args: dict[str, Any]) -> list[str]:
    """Ask for a job, let the runner take and run it, and read its stream to the end."""
    job_id, _ = await runner.db(lambda store: store.jobs.enqueue("push", key, args))
    job = await runner.db(lambda store: store.jobs.claim(runner.owner, runner.lease))
    assert job is not None and job.id == job_id
    await runner.execute(job)
    return [line async for line in stream(runner, job_id)]


def publish_once(town: Town, url: str, key: str, sha: str) -> list[str]:
    """One job run to the end by a runner of its own, as the service's runner runs it: its streamed lines."""

    async def scenario() -> list[str]:
        runner = runner_for(town, url)
        try:
            return await run_one(runner, key, {"sha": sha, "before": None})
        finally:
            runner.close()

    return asyncio.run(scenario())


def result_of(lines: list[str]) -> dict[str, Any]:
    assert lines[-1].startswith(RESULT_PREFIX), lines[-3:]
    return dict(json.loads(lines[-1][len(RESULT_PREFIX) :]))


@pytest.mark.slow
def test_a_job_publishes_as_the_command_does_and_streams_what_it_says(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-23 12:00")
    with adopted(demo_town, sqlite_url, monkeypatch, 7) as sim:
        demo_town.write("2026-11-23-allerta-rossa.md", URGENT)
        git(demo_town.root, "add", "-A")
        git(demo_town.root, "commit", "-qm", "allerta")
        lines = publish_once(demo_town, sqlite_url, "push:1:1:1", "f" * 40)
        assert sim.stats()["accepted"] == 7 and len(sim.messages()["telegram"]) == 1
        text = "".join(lines)
        assert "allerta-rossa → Lista WhatsApp: inviato" in text and "7 accettati su 7" in text
        result = result_of(lines)
        assert result["exit"] == 0 and "allerta-rossa" in result["summary"]
        # the WhatsApp Channel has no gateway in this town: its post is handed to the workflow
        assert [(p["bulletin"], p["channel"]) for p in result["posts"]] == [("allerta-rossa", "whatsapp_channel")]
        assert "Allerta rossa" in result["posts"][0]["text"]


@pytest.mark.slow
def test_a_broken_bulletin_fails_the_job_with_an_annotation_and_the_others_still_go(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-23 12:00")
    with adopted(demo_town, sqlite_url, monkeypatch, 3) as sim:
        demo_town.write("2026-11-23-allerta-rossa.md", URGENT)
        demo_town.write("2026-11-23-rotto.md", "id: rotto\ntitle: Senza categorie\ndate: 2026-11-23 11:00\n")
        git(demo_town.root, "add", "-A")
        git(demo_town.root, "commit", "-qm", "uno buono, uno rotto")
        lines = publish_once(demo_town, sqlite_url, "push:1:2:1", "e" * 40)
        assert sim.stats()["accepted"] == 3  # the valid urgent one went
        result = result_of(lines)
        assert result["exit"] == 1
        annotations = [line for line in lines if line.startswith("::error")]
        assert any("2026-11-23-rotto.md" in line for line in annotations), lines


def test_another_replica_streams_the_lines_of_a_job_it_does_not_run(town: Town, sqlite_url: str) -> None:
    async def scenario() -> list[str]:
        running, answering = runner_for(town, sqlite_url), runner_for(town, sqlite_url)
        try:
            job_id, _ = await answering.db(lambda store: store.jobs.enqueue("push", "push:9:9:1", {}))
            reader = asyncio.create_task(_collect(stream(answering, job_id)))
            job = await running.db(lambda store: store.jobs.claim(running.owner, 30))
            assert job is not None
            await running.db(lambda store: store.jobs.add_lines(job.id, ["prima riga", "seconda riga"]))
            await running.db(lambda store: store.jobs.finish(job.id, running.owner, 0, {"exit": 0, "posts": []}))
            return await asyncio.wait_for(reader, timeout=10)
        finally:
            running.close()
            answering.close()

    lines = asyncio.run(scenario())
    assert lines[:2] == ["prima riga\n", "seconda riga\n"] and result_of(lines)["exit"] == 0


async def _collect(lines: Any) -> list[str]:
    return [line async for line in lines]


def test_a_run_that_breaks_around_the_command_fails_its_job_loudly_and_the_runner_goes_on(
    town: Town, sqlite_url: str
) -> None:
    def command(args: list[str], emit: Any) -> int:
        posts = args[args.index("--posts-file") + 1]
        Path(posts).write_text("{not json", encoding="utf-8")  # a result nobody can read
        emit("Pubblicato.")
        return 0

    async def scenario() -> list[str]:
        config = town.config
        runner = Runner(lambda: config, lambda: Store.open(sqlite_url), command, db_url=sqlite_url)
        try:
            lines = await run_one(runner, "push:1:5:1", {"sha": "d" * 40})
            assert runner.current is None and runner.health()["running"] is None
            return lines
        finally:
            runner.close()

    lines = asyncio.run(scenario())
    assert result_of(lines)["exit"] == 2
    assert any(line.startswith("::error title=Errore del servizio::JSONDecodeError") for line in lines), lines
