"""The dataset benchmark's versioning work through DVC, for a side-by-side comparison.

Run by bench_datasets.py in an interpreter that has dvc (`make bench-dvc`):

    python bench/dvc_version.py V1.csv V2.csv

In a fresh git + DVC repository: `dvc add` the first version, `dvc add` it again
unchanged, copy the second version over it and `dvc add` that, then `dvc diff` the two
commits. Each step is the `dvc` command line as a user runs it, timed from outside (its
start-up included); the git commits between them are not timed. Prints one JSON line.
Imports nothing from the workbench.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}
DVC = str(Path(sys.executable).with_name("dvc"))


def run(repo: Path, *cmd: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=repo, env=ENV, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    v1, v2 = Path(sys.argv[1]), Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        run(repo, "git", "init", "-q")
        run(repo, DVC, "init", "-q")
        run(repo, "git", "commit", "-qm", "dvc init")
        data = repo / "customers.csv"
        shutil.copyfile(v1, data)
        add_first, _ = run(repo, DVC, "add", "-q", data.name)
        run(repo, "git", "add", "customers.csv.dvc", ".gitignore")
        run(repo, "git", "commit", "-qm", "v1")
        add_same, _ = run(repo, DVC, "add", "-q", data.name)
        shutil.copyfile(v2, data)
        add_second, _ = run(repo, DVC, "add", "-q", data.name)
        run(repo, "git", "commit", "-qam", "v2")
        diff, out = run(repo, DVC, "diff", "--json", "HEAD~1")
        version = run(repo, DVC, "--version")[1].strip()
    print(
        json.dumps(
            {
                "dvc": version,
                "add_first": add_first,
                "add_same": add_same,
                "add_second": add_second,
                "diff": diff,
                "diff_says": json.loads(out),
            }
        )
    )


if __name__ == "__main__":
    main()
