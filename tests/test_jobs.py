"""The jobs table: one job per key, one replica at a time under a lease, taken over when its runner dies."""

from __future__ import annotations

import threading
import time

from site_tools.store import Store
from site_tools.store.jobs import MAX_ATTEMPTS


def test_the_same_key_makes_one_job(store_url: str) -> None:
    store = Store.open(store_url)
    first, new = store.jobs.enqueue("tick", "tick:2026-12-07T08:00", {"since": None})
    again, new_again = store.jobs.enqueue("tick", "tick:2026-12-07T08:00", {"since": "x"})
    assert new and not new_again and first == again
    assert store.jobs.get(first).args == {"since": None}  # the first asking decided  # type: ignore[union-attr]
    store.close()


def test_a_job_is_taken_once_then_finished(store_url: str) -> None:
    store = Store.open(store_url)
    job_id, _ = store.jobs.enqueue("push", "push:1:1", {"before": "a" * 40})
    job = store.jobs.claim("replica-a", lease=30)
    assert job is not None and job.id == job_id and job.attempts == 1 and job.owner == "replica-a"
    assert store.jobs.claim("replica-b", lease=30) is None  # leased: nobody else takes it
    assert store.jobs.finish(job_id, "replica-a", 0, {"exit": 0})
    done = store.jobs.get(job_id)
    assert done is not None and done.state == "done" and done.result == {"exit": 0} and done.finished
    assert store.jobs.claim("replica-b", lease=30) is None
    store.close()


def test_a_job_whose_lease_ran_out_is_taken_over_and_the_old_owner_loses_it(store_url: str) -> None:
    store = Store.open(store_url)
    job_id, _ = store.jobs.enqueue("push", "push:2:1", {})
    assert store.jobs.claim("replica-a", lease=0.05) is not None
    time.sleep(0.1)  # replica-a died: no renewal
    assert store.jobs.waiting() == 1
    taken = store.jobs.claim("replica-b", lease=30)
    assert taken is not None and taken.id == job_id and taken.attempts == 2 and taken.owner == "replica-b"
    assert not store.jobs.renew(job_id, "replica-a", 30)  # it came back: the job is no longer its
    assert not store.jobs.finish(job_id, "replica-a", 0, {"exit": 0})
    assert store.jobs.renew(job_id, "replica-b", 30)
    assert store.jobs.finish(job_id, "replica-b", 1, {"exit": 1})
    assert store.jobs.get(job_id).state == "failed"  # type: ignore[union-attr]
    store.close()


def test_a_job_that_keeps_killing_its_runner_is_failed_not_retried_for_ever(store_url: str) -> None:
    store = Store.open(store_url)
    job_id, _ = store.jobs.enqueue("push", "push:3:1", {})
    for n in range(MAX_ATTEMPTS):
        assert store.jobs.claim(f"replica-{n}", lease=0.01) is not None
        time.sleep(0.03)
    assert store.jobs.claim("replica-last", lease=30) is None
    job = store.jobs.get(job_id)
    assert job is not None and job.state == "failed" and job.exit_code == 3 and job.result["exit"] == 3  # type: ignore[index]
    store.close()


def test_two_replicas_claiming_at_once_never_share_a_job(store_url: str) -> None:
    setup = Store.open(store_url)
    ids = {setup.jobs.enqueue("push", f"push:{n}:1", {})[0] for n in range(40)}
    setup.close()
    taken: dict[str, list[int]] = {"a": [], "b": []}

    def replica(name: str) -> None:
        store = Store.open(store_url)
        while (job := store.jobs.claim(name, lease=60)) is not None:
            taken[name].append(job.id)
        store.close()

    threads = [threading.Thread(target=replica, args=(name,)) for name in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken["a"] + taken["b"]) == sorted(ids)  # every job once, none twice


def test_lines_are_read_back_in_order_from_where_the_reader_stopped(store_url: str) -> None:
    store = Store.open(store_url)
    job_id, _ = store.jobs.enqueue("push", "push:4:1", {})
    store.jobs.add_lines(job_id, ["uno", "due"])
    first = store.jobs.lines(job_id)
    assert [text for _, text in first] == ["uno", "due"]
    store.jobs.add_lines(job_id, ["tre"])
    assert [text for _, text in store.jobs.lines(job_id, after=first[-1][0])] == ["tre"]
    store.close()


def test_finished_jobs_are_pruned_with_their_lines(store_url: str) -> None:
    store = Store.open(store_url)
    old, _ = store.jobs.enqueue("push", "push:5:1", {})
    store.jobs.claim("r", lease=30)
    store.jobs.add_lines(old, ["fatto"])
    store.jobs.finish(old, "r", 0, {"exit": 0})
    waiting, _ = store.jobs.enqueue("push", "push:6:1", {})
    assert store.jobs.prune(time.time() + 1) == 1
    assert store.jobs.get(old) is None and store.jobs.lines(old) == [] and store.jobs.get(waiting) is not None
    store.close()


def test_a_job_nobody_takes_shows_its_age(store_url: str) -> None:
    store = Store.open(store_url)
    assert store.jobs.oldest_waiting_age() == 0.0
    store.jobs.enqueue("tick", "tick:a", {}, at=time.time() - 90)
    assert 89 < store.jobs.oldest_waiting_age() < 120
    store.jobs.claim("r", lease=30)
    assert store.jobs.oldest_waiting_age() == 0.0  # taken: somebody is on it
    store.close()


def test_a_job_waiting_behind_a_running_one_is_not_untended(store_url: str) -> None:
    store = Store.open(store_url)
    store.jobs.enqueue("push", "push:1:1:1", {}, at=time.time() - 300)
    assert store.jobs.claim("replica-1", lease=30) is not None  # a long publish, its lease renewed
    store.jobs.enqueue("push", "push:1:2:1", {}, at=time.time() - 200)
    assert store.jobs.oldest_waiting_age() == 0.0  # waiting its turn
    assert store.jobs.has_key_prefix("push:1:2:") and not store.jobs.has_key_prefix("push:1:3:")
    assert not store.jobs.has_key_prefix("push:1:%")  # a prefix, not a pattern
    store.close()
