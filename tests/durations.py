"""Write tests/durations.json (seconds per test file) from a `make test` JUnit report.

    python tests/durations.py [tests/output/junit.xml]

`make test` writes the report; `make durations` runs this after it. conftest.py orders the
test files longest first from the JSON, so the workers start the long ones at once.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent


def per_file(report: Path) -> dict[str, float]:
    """Seconds per test file name (setup, call and teardown), longest first."""
    seconds: dict[str, float] = {}
    for case in ET.parse(report).iter("testcase"):
        module = case.get("classname", "").split(".")  # tests.test_x or tests.test_x.Class
        name = f"{module[1]}.py" if len(module) > 1 else f"{module[0]}.py"
        seconds[name] = seconds.get(name, 0.0) + float(case.get("time") or 0)
    return {k: round(v, 1) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


def main() -> None:
    report = Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "output" / "junit.xml")
    if not report.exists():
        sys.exit(f"{report} not found: run `make test` first (it writes that report).")
    durations = per_file(report)
    (HERE / "durations.json").write_text(json.dumps(durations, indent=1) + "\n")
    print(f"tests/durations.json: {len(durations)} files, {sum(durations.values()):.0f} s")


if __name__ == "__main__":
    main()
