"""The lock-fairness workload of issue 16: processes hammering one workspace at once.

Run as ``python -m tests.fairness WORKSPACE SECONDS`` it starts 4 loggers (each loops
``with wb.start_run(): log 20 metrics``, no pause), 2 registrars (each loops
``wb.log_dataset(a new frame, ...)``) and 1 reader (loops ``wb.search_runs()``), all with
the workspace in ``WORKBENCH_WORKSPACE``, for SECONDS, and prints one JSON line: per
process its kind, the operations it completed, its errors by type, and the p95 of its
waits for the database lock (from ``store.gateway.lock_waits``), plus what the workspace
holds afterwards. ``tests/test_fairness.py`` asserts on it; ``bench/bench_fairness.py``
prints it as a table, beside the same workload on MLflow's SQLite store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("logger",) * 4 + ("registrar",) * 2 + ("reader",)

WORKER = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
import workbench as wb
from workbench.store import gateway

kind, index, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
warnings.simplefilter("ignore")
done, errors, acked = 0, {}, []
rng = np.random.default_rng(index)
start = time.monotonic()
latencies = []
while time.monotonic() - start < seconds:
    began = time.monotonic()
    try:
        if kind == "logger":
            with wb.start_run(experiment="fairness", name=f"p{index}-{done}") as run:
                for k in range(20):
                    run.log_metric(f"m{k}", float(k), step=0)
            acked.append(run.run_id)
        elif kind == "registrar":
            frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.integers(0, 9, 200)})
            version = wb.log_dataset(frame, f"fair{index}")
            acked.append(version.version)
        else:
            wb.search_runs(max_results=100)
        done += 1
        latencies.append(time.monotonic() - began)
    except Exception as exc:
        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
wb.workspace().store.close()  # the last turn is logged when the file closes
turns = gateway.turn_log()
waits = sorted(w for w, _ in turns)
print(json.dumps({
    "kind": kind, "index": index, "operations": done, "errors": errors, "acknowledged": acked,
    "turns": len(turns), "held_s": round(sum(h for _, h in turns), 3),
    "p95_wait_s": round(waits[int(0.95 * (len(waits) - 1))], 3) if waits else 0.0,
    "max_wait_s": round(waits[-1], 3) if waits else 0.0,
    "p95_operation_s": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 3)
    if latencies else 0.0,
}))
"""


def run(workspace: Path, seconds: float, python: str = sys.executable) -> dict:
    """Start the 7 processes on ``workspace`` for ``seconds``; their reports and the
    workspace's contents afterwards, as a dict (``processes``, ``runs``, ``versions``)."""
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(workspace), "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [python, "-c", WORKER, kind, str(i), str(seconds)],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i, kind in enumerate(KINDS)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=seconds + 300)
        if proc.returncode != 0 or not out.strip():
            raise RuntimeError(f"a worker failed (exit {proc.returncode}):\n{err[-3000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    check = subprocess.run(
        [python, "-c", _CONTENTS],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return {"seconds": seconds, "processes": reports, **json.loads(check.stdout)}


_CONTENTS = """
import json
import workbench as wb
from workbench.store.errors import NotFound
runs = wb.search_runs("fairness")
versions = {}
for name in ("fair4", "fair5"):
    try:
        versions[name] = [v.version for v in wb.list_dataset_versions(name)]
    except NotFound:
        versions[name] = []
metrics = runs.filter(like="metrics.").notna().sum(axis=1) if len(runs) else []
print(json.dumps({
    "runs": sorted(runs["run_id"]) if len(runs) else [],
    "finished": int((runs["status"] == "finished").sum()) if len(runs) else 0,
    "metrics_per_run": sorted({int(c) for c in metrics}),
    "versions": versions,
}))
"""


if __name__ == "__main__":
    result = run(Path(sys.argv[1]), float(sys.argv[2]))
    for p in result["processes"]:
        print(
            p["kind"],
            p["index"],
            p["operations"],
            p["errors"],
            p["turns"],
            p["held_s"],
            p["p95_wait_s"],
            p["max_wait_s"],
        )
    print(
        len(result["runs"]),
        result["finished"],
        result["metrics_per_run"],
        {k: len(v) for k, v in result["versions"].items()},
    )
