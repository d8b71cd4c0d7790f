"""The ``Pubblica`` job's first step on its own: from the step's start to its POST reaching the service.

    .venv/bin/python bench/trigger_step.py            # 30 runs
    .venv/bin/python bench/trigger_step.py --runs 100

The step's own bash is taken out of .github/workflows/publish.yml and run as GitHub runs it, against a local
stand-in for the runner's token endpoint and the service (tests/fake_service.py) that answers at once. It times
the step's share of merge → first message: bash, jq, the token request and the POST (nothing installed), and
the whole step for a run that streams one line and its result. The runner's start, GitHub's token endpoint and
the network to the town's server are not in it (they are in the merge → phone estimate).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.fake_service import Handler, result_line, running  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8"))
    script = workflow["jobs"]["publish"]["steps"][0]["run"]
    reached: list[float] = []
    arrived = threading.Event()

    def publish(handler: Handler) -> None:
        reached.append(time.perf_counter())
        arrived.set()
        handler.stream(["✔ avviso → Lista WhatsApp: inviato", result_line()])

    to_post, whole = [], []
    with tempfile.TemporaryDirectory(prefix="bench-trigger-") as tmp, running() as service:
        service.publish = publish
        root = Path(tmp)
        (root / "trigger.sh").write_text(script, encoding="utf-8")
        env = {
            **os.environ,
            "RUNNER_TEMP": tmp,
            "GITHUB_STEP_SUMMARY": str(root / "summary"),
            "GITHUB_OUTPUT": str(root / "output"),
            "SERVICE_URL": service.url,
            "BEFORE": "b" * 40,
            **service.runner_env(),
        }
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(root / "trigger.sh")]
        for _ in range(args.runs):
            arrived.clear()
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            end = time.perf_counter()
            assert done.returncode == 0 and arrived.is_set(), done.stdout + done.stderr
            to_post.append(reached[-1] - start)
            whole.append(end - start)
    for name, values in (("step start → POST /publish received", to_post), ("whole step (one line + result)", whole)):
        values.sort()
        p90 = values[int(0.9 * (len(values) - 1))]
        print(f"{name}: median {statistics.median(values) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms ({len(values)} runs)")


if __name__ == "__main__":
    main()
