"""Experiments benchmark: a 2,000-run workspace (20 params, 10 metrics x 100 steps each,
2,000,000 points), then the queries the Experiments page makes, and the page itself in
Debian's chromium until it is idle.

    python bench/bench_experiments.py [--runs 2000] [--no-browser]

The workspace is built through the store's batched ingestion (the path the app's watcher
and `workbench sync` take), in about ten seconds instead of the minutes 2,000 SDK runs
with their own end-of-run ingestion would take; bench_tracking.py times the SDK path.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.store import ingestion, tracking  # noqa: E402
from workbench.store.entities import Experiment, OrderBy, Run, utcnow  # noqa: E402
from workbench.store.ingestion import IngestBatch  # noqa: E402
from workbench.store.workspace import Workspace  # noqa: E402
from workbench.tracking import experiments  # noqa: E402

N_PARAMS, N_METRICS, N_STEPS = 20, 10, 100


def build(
    ws: Workspace,
    n_runs: int,
    n_params: int = N_PARAMS,
    n_metrics: int = N_METRICS,
    n_steps: int = N_STEPS,
) -> list[str]:
    """Add ``n_runs`` finished runs to a new experiment "bench" (each with ``n_params``
    params and ``n_metrics`` metrics x ``n_steps`` steps) by batched ingestion; their ids."""
    rng = random.Random(0)
    exp = Experiment(uuid.uuid4().hex, "bench", "", "active", utcnow(), "bench")
    ids = [uuid.uuid4().hex for _ in range(n_runs)]

    def runs(tx) -> None:
        tracking.insert_experiment(tx, exp)
        for i, rid in enumerate(ids):
            tracking.insert_run(
                tx,
                Run(
                    rid,
                    exp.experiment_id,
                    f"run-{i}",
                    "running",
                    "sdk",
                    None,
                    "bench",
                    None,
                    None,
                    utcnow(),
                    None,
                    None,
                    "active",
                ),
            )

    ws.store.write(runs)
    now_ms = int(time.time() * 1000)
    for start in range(0, n_runs, 200):
        batches = []
        for rid in ids[start : start + 200]:
            b = IngestBatch(rid, 1, 1)
            b.params = [
                (f"p{j}", rng.randint(1, 10) if j % 2 else rng.random()) for j in range(n_params)
            ]
            b.tags = [("owner", rng.choice(["ana", "bo", "cy"]))]
            for step in range(n_steps):
                for k in range(n_metrics):
                    b.metric_key.append(f"m{k}")
                    b.metric_step.append(step)
                    b.metric_ts.append(now_ms + step)
                    b.metric_value.append(rng.random() * (1 + step / n_steps))
                    b.metric_seq.append(step * n_metrics + k + 2)
            b.end = ("finished", None, utcnow())
            batches.append(b)
        ws.store.write(lambda tx, bs=batches: ingestion.apply_ingest(tx, bs, utcnow()))
    return ids


def timed(fn, repeat: int = 15) -> tuple[float, object]:
    fn()
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, result


def queries(ws: Workspace, ids: list[str]) -> list[tuple[str, float, float, str]]:
    query = "metrics.m3 > 0.5 and params.p1 >= 3 and tags.owner = 'ana'"
    order = [OrderBy("metrics", "m1", descending=True)]
    ten = ids[:10]
    cases = [
        (
            "runs table, filtered + sorted, one page of 50 (the page's default)",
            lambda: experiments.runs_table(ws, query=query, order_by=order, limit=50),
            lambda r: f"{r.shape[0]} x {r.shape[1]}",
        ),
        (
            "runs table, filtered + sorted, one page of 200",
            lambda: experiments.runs_table(ws, query=query, order_by=order, limit=200),
            lambda r: f"{r.shape[0]} x {r.shape[1]}",
        ),
        (
            "count of matching runs (the pager)",
            lambda: experiments.count_runs(ws, query=query),
            str,
        ),
        (
            "runs table, first page of 200, no filter",
            lambda: experiments.runs_table(ws, limit=200),
            lambda r: f"{r.shape[0]} x {r.shape[1]}",
        ),
        (
            "compare 10 runs x 10 metrics: curves (min/max kept)",
            lambda: experiments.curves(ws, ten),
            lambda r: f"{len(r):,} points",
        ),
        (
            "compare 10 runs: their table rows",
            lambda: experiments.runs_table(
                ws, query="run_id IN (" + ", ".join(f"'{i}'" for i in ten) + ")"
            ),
            lambda r: f"{r.shape[0]} x {r.shape[1]}",
        ),
    ]
    out = []
    for name, call, describe in cases:
        ws.store.linger = 0.1
        warm, result = timed(call)
        ws.store.linger = 0
        ws.store.close()
        cold, _ = timed(call, 5)
        out.append((name, warm, cold, describe(result)))
    ws.store.linger = 0.1
    return out


# Checked on every animation frame in the page: the script idle and the table laid out.
# Returns the page's own clock (ms since its navigation started) the first time it holds.
READY = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  const table = document.querySelector("[data-testid='stDataFrame']");
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning" || !table
      || table.getBoundingClientRect().height === 0) return false;
  window.__wbReady = window.__wbReady || performance.now();
  return true;
}"""


def _load(page, url: str) -> tuple[float, float]:
    """(in-page, wall) seconds for one navigation until the page is idle with its table.

    In-page: the browser's navigation start to the first animation frame where READY
    holds, which is what a user waits for. Wall: Playwright's round trips around it too
    (its selector polling backs off to 500 ms, so it overstates by up to that much)."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(READY, polling="raf", timeout=30_000)
    wall = time.perf_counter() - started
    return page.evaluate("window.__wbReady") / 1000, wall


def browser_idle(ws: Workspace, repeat: int = 7) -> list[tuple[str, float, float]]:
    """(page, in-page s, wall s) from navigation to the page being idle with its table
    drawn: Experiments, and Home (the floor: any Streamlit page of this app) alternating."""
    from tests.live import app_server, browser

    times = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        app_server(ws.root, Path(tmp) / "server.log") as url,
        browser() as b,
    ):
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        for path in ["experiments"] + ["", "experiments"] * repeat:
            times.append((path or "home", *_load(page, f"{url}/{path}")))
        for _ in range(repeat):  # as a user moves: the sidebar link, no page reload
            _load(page, url)
            page.evaluate("window.__wbReady = undefined")
            started = time.perf_counter()
            page.get_by_test_id("stSidebarNav").get_by_text("Experiments").click()
            page.get_by_text("select runs: one shows its details").wait_for()
            page.wait_for_function(READY, polling="raf")
            times.append(("in-app", math.nan, time.perf_counter() - started))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "ws")
        started = time.perf_counter()
        ids = build(ws, args.runs)
        built = time.perf_counter() - started
        points = args.runs * N_METRICS * N_STEPS
        print(
            f"\nExperiments benchmark: {args.runs:,} runs x {N_PARAMS} params x "
            f"{N_METRICS} metrics x {N_STEPS} steps ({points:,} points; built in "
            f"{built:.1f} s)\n"
        )
        print("| query (through its service) | warm | cold: open + query + close | result |")
        print("| --- | ---: | ---: | --- |")
        for name, warm, cold, result in queries(ws, ids):
            print(f"| {name} | {warm:.1f} ms | {cold:.1f} ms | {result} |")
        if not args.no_browser:
            times = browser_idle(ws)

            def med(page: str, col: int) -> str:
                vals = [t[col] for t in times[1:] if t[0] == page]
                return f"{statistics.median(vals):.2f} s ({min(vals):.2f}-{max(vals):.2f})"

            print(
                "\n| page in chromium, navigation to idle with the table drawn | in the page "
                "| wall clock (Playwright) |"
            )
            print("| --- | ---: | ---: |")
            print(
                f"| Experiments, first load (server caches cold) | {times[0][1]:.2f} s | "
                f"{times[0][2]:.2f} s |"
            )
            n = sum(1 for t in times[1:] if t[0] == "experiments")
            print(
                f"| Experiments, full reload, median of {n} | {med('experiments', 1)} | "
                f"{med('experiments', 2)} |"
            )
            print(f"| Home (the floor), full reload | {med('home', 1)} | {med('home', 2)} |")
            print(f"| Experiments from the sidebar (no reload) | - | {med('in-app', 2)} |")


if __name__ == "__main__":
    main()
