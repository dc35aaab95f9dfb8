"""The page benchmark's peer workspace: an MLflow SQLite tracking store with the same runs.

Run by bench_pages.py in an interpreter that has mlflow (`make bench-mlflow`):

    python bench/mlflow_store.py DIR RUNS PARAMS METRICS STEPS

Writes ``DIR/mlflow.db`` (artifacts under ``DIR/artifacts``) with one experiment of RUNS
finished runs, each with PARAMS params, an `owner` tag and METRICS metrics of STEPS steps (the shape
bench_experiments.build gives the workbench's side), through ``MlflowClient.log_batch``,
and prints one JSON line: the MLflow version, the experiment id and the seconds it took.
Imports nothing from the workbench.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient


def log_runs(
    client: MlflowClient, exp: str, runs: int, n_params: int, n_metrics: int, n_steps: int
) -> None:
    """``runs`` finished runs in experiment ``exp``, through MLflow's fastest documented
    path: ``log_batch`` with the params, an ``owner`` tag and up to 1,000 metrics a call."""
    for i in range(runs):
        rng = random.Random(i)
        run = client.create_run(exp, run_name=f"run-{i}")
        rid = run.info.run_id
        params = [
            Param(f"p{j}", str(rng.randint(1, 10) if j % 2 else rng.random()))
            for j in range(n_params)
        ]
        now = int(time.time() * 1000)
        metrics = [
            Metric(f"m{k}", (i + step * k) / 1000, now, step)
            for step in range(n_steps)
            for k in range(n_metrics)
        ]
        tags = [RunTag("owner", rng.choice(["ana", "bo", "cy"]))]
        client.log_batch(rid, params=params, tags=tags, metrics=metrics[:1000])
        for start in range(1000, len(metrics), 1000):
            client.log_batch(rid, metrics=metrics[start : start + 1000])
        client.set_terminated(rid)


def main() -> None:
    folder = Path(sys.argv[1])
    runs, n_params, n_metrics, n_steps = (int(a) for a in sys.argv[2:6])
    folder.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    exp = client.create_experiment("bench", artifact_location=str(folder / "artifacts"))
    started = time.perf_counter()
    log_runs(client, exp, runs, n_params, n_metrics, n_steps)
    print(
        json.dumps(
            {
                "version": mlflow.__version__,
                "experiment_id": exp,
                "seconds": time.perf_counter() - started,
            }
        )
    )


if __name__ == "__main__":
    main()
