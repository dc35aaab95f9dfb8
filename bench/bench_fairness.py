"""Seven processes hammering one workspace (issue 16): 4 loggers, 2 registrars, 1 reader,
none pausing, through the SDK calls a notebook makes (``tests/fairness.py``). Prints, per
kind of process, the operations each completed, the errors, the p95 seconds per operation
and (workbench) the p95 wait for a turn at the database; with ``--mlflow-python`` the same
workload on MLflow's SQLite store (``bench/mlflow_fairness.py``), run right after in the
same invocation.

    python bench/bench_fairness.py [--seconds 120] [--mlflow-python .venv-mlflow/bin/python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import fairness  # noqa: E402
from workbench.store.workspace import Workspace  # noqa: E402 (the checkout first on the path)


def _mlflow(python: str, seconds: float) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        setup = (
            "import mlflow, sys; mlflow.set_tracking_uri(sys.argv[1]); "
            "mlflow.create_experiment('fairness')"
        )
        subprocess.run([python, "-c", setup, uri], check=True, capture_output=True, timeout=300)
        script = str(ROOT / "bench" / "mlflow_fairness.py")
        procs = [
            subprocess.Popen(
                [python, script, kind, str(i), str(seconds), uri],
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i, kind in enumerate(fairness.KINDS)
        ]
        out = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=seconds + 300)
            if proc.returncode != 0:
                raise RuntimeError(f"an MLflow worker failed:\n{stderr[-2000:]}")
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out


def _rows(side: str, procs: list[dict]) -> list[str]:
    rows = []
    for kind in ("logger", "registrar", "reader"):
        same = [p for p in procs if p["kind"] == kind]
        ops = sorted(p["operations"] for p in same)
        errors: dict[str, int] = {}
        for p in same:
            for name, n in p["errors"].items():
                errors[name] = errors.get(name, 0) + n
        wait = max((p.get("p95_wait_s", 0.0) for p in same), default=0.0)
        op = max(p["p95_operation_s"] for p in same)
        rows.append(
            f"| {side} | {len(same)} {kind}{'s' if len(same) > 1 else ''} | "
            f"{', '.join(str(o) for o in ops)} | "
            f"{', '.join(f'{k} {v}' for k, v in errors.items()) or '0'} | {op:.3f} s | "
            + (f"{wait:.3f} s |" if side == "workbench" else "n/a |")
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--mlflow-python", help="an interpreter with mlflow installed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Workspace.open(Path(tmp) / "ws").store.close()  # made first, as MLflow's experiment
        result = fairness.run(Path(tmp) / "ws", args.seconds)
    lost = len(result["runs"]) != sum(
        len(p["acknowledged"]) for p in result["processes"] if p["kind"] == "logger"
    )
    print(f"\n7 processes for {args.seconds:.0f} s, no pauses (operations per process)\n")
    print("| store | processes | operations each | errors | p95 per operation | p95 turn wait |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in _rows("workbench", result["processes"]):
        print(row)
    if args.mlflow_python:
        for row in _rows("MLflow (SQLite)", _mlflow(args.mlflow_python, args.seconds)):
            print(row)
    print(f"\nworkbench: {len(result['runs'])} runs stored, every acknowledged one: {not lost}")


if __name__ == "__main__":
    main()
