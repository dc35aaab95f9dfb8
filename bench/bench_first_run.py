"""From `make run` on a fresh clone to the demo's Start here page in Debian's chromium.

Three starts of the same clone, timed from `make run` to the page drawn with its figures:
1. fresh clone: creates the virtual environment, installs (pip's cache as the machine has
   it), seeds the demo, serves;
2. the environment installed, the workspace deleted: seeds and serves (no install);
3. both there: serves.

    python bench/bench_first_run.py [--keep]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import make_run, start_here_is_drawn  # noqa: E402


def start(clone: Path, log: Path) -> tuple[float, float, str]:
    """(seconds to a healthy server, seconds to Start here drawn, make's output)."""
    started = time.monotonic()
    with make_run(clone, log) as (url, healthy):
        start_here_is_drawn(url)
        drawn = time.monotonic() - started
    return healthy, drawn, log.read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone for a look")
    args = parser.parse_args()
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="wb-first-run-"))
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    rows = []
    try:
        healthy, drawn, out = start(clone, tmp / "1.log")
        seeded = re.search(r"demo seeded in (\d+) s", out)
        rows.append(
            (
                "fresh clone: venv, install, seed, serve",
                healthy,
                drawn,
                seeded.group(1) + " s" if seeded else "?",
            )
        )
        shutil.rmtree(clone / "workspace")
        healthy, drawn, out = start(clone, tmp / "2.log")
        seeded = re.search(r"demo seeded in (\d+) s", out)
        rows.append(
            (
                "installed, workspace deleted: seed, serve",
                healthy,
                drawn,
                seeded.group(1) + " s" if seeded else "?",
            )
        )
        healthy, drawn, out = start(clone, tmp / "3.log")
        rows.append(("installed and seeded: serve", healthy, drawn, "none"))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n`make run` to the Start here page (commit {head}, {time.strftime('%Y-%m-%d %H:%M')})")
    print("\n| start | server healthy | Start here drawn | seeding |")
    print("| --- | ---: | ---: | ---: |")
    for what, healthy, drawn, seeding in rows:
        print(f"| {what} | {healthy:.1f} s | {drawn:.1f} s | {seeding} |")
    if args.keep:
        print(f"\nclone kept in {clone}")


if __name__ == "__main__":
    main()
