"""Import and first-render benchmark: what a notebook pays for ``import workbench as wb``,
and what the first visitor of a freshly started app waits for the Home page.

Each figure is a fresh process (nothing cached in memory; Python's bytecode cache on disk
warm, as after the first run of an install):

1. ``python -c "import workbench"``: the package alone (before issue 17: ``import app``).
2. ``python -c "import workbench as wb; wb.start_run"``: the SDK a notebook uses (before:
   ``from app import sdk as wb``).
3. The Home page's first render: ``workbench ui`` started fresh on a demo workspace, then
   chromium opens ``/`` and the page's own clock runs from the navigation's start to the
   first frame where the page is idle and drawn (bench/bench_pages.py's READY).

    python bench/bench_import.py [--checkout DIR] [--repeat 7] [--mlflow-python PY]

``--checkout`` measures another checkout with its own ``.venv`` (for a before/after: a
clone at an older commit, ``make .venv/.run-installed`` in it). ``--mlflow-python`` (an
interpreter with MLflow, as `make bench-mlflow` makes one) adds the peer in the same run,
alternating with ours: ``import mlflow`` and ``import mlflow; mlflow.start_run``. Prints
one table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pages import READY  # noqa: E402
from tests.live import browser, free_port  # noqa: E402


def layout(python: str) -> dict[str, str]:
    """The import statements of the checkout's layout (one package, or app/ and store/)."""
    new = subprocess.run([python, "-c", "import workbench.sdk"], capture_output=True).returncode
    if new == 0:
        return {"package": "import workbench", "sdk": "import workbench as wb; wb.start_run"}
    return {"package": "import app", "sdk": "from app import sdk as wb; wb.start_run"}


def fresh_import(python: str, statement: str, cwd: Path) -> float:
    """Seconds of a fresh interpreter running ``statement`` (wall clock, start to exit)."""
    started = time.perf_counter()
    subprocess.run([python, "-c", statement], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def first_home(checkout: Path, workspace: Path, log: Path) -> float:
    """Seconds from navigating to a just-started server's Home page until it is drawn."""
    port = free_port()
    with log.open("ab") as out:
        server = subprocess.Popen(
            [
                str(checkout / ".venv" / "bin" / "workbench"),
                "--workspace",
                str(workspace),
                "ui",
                "--port",
                str(port),
            ],
            cwd=checkout,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {log}") from None
                time.sleep(0.1)
        with browser() as b:
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="commit")
            page.wait_for_function(READY, arg="Home", polling="raf", timeout=120_000)
            return page.evaluate("window.__wbReady") / 1000
    finally:
        server.terminate()
        server.wait(timeout=30)


def row(name: str, values: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(values):.2f} s | "
        f"{min(values):.2f}-{max(values):.2f} s | {len(values)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--mlflow-python", help="an interpreter with MLflow: the peer")
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    python = str(checkout / ".venv" / "bin" / "python")
    statements = layout(python)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        runs = [(python, s) for s in statements.values()]
        if args.mlflow_python:
            peer = str(Path(args.mlflow_python).absolute())  # the venv's link, not its target
            runs += [
                (peer, "import mlflow"),
                (peer, "import mlflow; mlflow.start_run"),
            ]
        for interpreter, statement in runs:  # compile once: the disk cache warm
            fresh_import(interpreter, statement, tmp_path)
        imports: dict[str, list[float]] = {f"`{s}`": [] for _, s in runs}
        for _ in range(args.repeat):  # alternating, so load hits both sides alike
            for interpreter, statement in runs:
                imports[f"`{statement}`"].append(fresh_import(interpreter, statement, tmp_path))
        workspace = tmp_path / "ws"
        subprocess.run(
            [str(checkout / ".venv" / "bin" / "workbench"), "--workspace", str(workspace), "demo"],
            cwd=checkout,
            check=True,
            capture_output=True,
        )
        log = tmp_path / "server.log"
        first_home(checkout, workspace, log)  # the server's own first start compiles
        homes = [first_home(checkout, workspace, log) for _ in range(args.repeat)]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True
    ).stdout.strip()
    print(f"\n{checkout} at {commit}, {args.repeat} fresh processes each\n")
    print("| what | median | range | n |\n| --- | --- | --- | --- |")
    for name, values in imports.items():
        print(row(name, values))
    print(row("Home page, first render of a fresh server", homes))
    ours, theirs = (
        imports.get(f"`{statements['sdk']}`"),
        imports.get("`import mlflow; mlflow.start_run`"),
    )
    if ours and theirs:  # pairs measured one after the other
        ratios = [t / o for o, t in zip(ours, theirs, strict=True)]
        print(
            f"\nthe SDK's first name, MLflow / workbench per pair: median "
            f"{statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f}x)"
        )


if __name__ == "__main__":
    main()
