"""The per-run event log: ``runs/<run_id>/events.jsonl``, append-only, one JSON object a line.

A logging call returns only after its line is handed to the operating system (one
``write`` on an ``O_APPEND`` descriptor), so a process killed right after the call loses
nothing. Each line carries a sequence number; ingestion remembers the byte offset and the
last sequence number it applied, so reading the same lines again adds nothing.

Line shapes (``ts`` is milliseconds since the epoch)::

    {"seq": 1, "ts": 1700000000000, "type": "params", "values": {"lr": 0.1}}
    {"seq": 2, "ts": ..., "type": "metrics", "step": 0, "values": {"loss": 0.5}}
    {"seq": 3, "ts": ..., "type": "tags", "values": {"owner": "ana"}}
    {"seq": 4, "ts": ..., "type": "artifact", "path": "c.csv", "sha256": "...", "size": 10}
    {"seq": 5, "ts": ..., "type": "record", "kind": "input", "name": "train",
     "data": {"dataset": "churn", "version": 3}}
    {"seq": 6, "ts": ..., "type": "end", "status": "finished", "error": null}

A launched trial's log begins with ``{"seq": 1, "ts": ..., "type": "start"}``: its worker
took it from the queue at ``ts`` (the run turns from ``queued`` to ``running``, started then).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from workbench.store import jsontext
from workbench.store.entities import ParamValue
from workbench.store.ingestion import IngestBatch
from workbench.store.text import KEY, find_unstorable, unstorable_error

EVENTS_FILE = "events.jsonl"
HEARTBEAT_FILE = "heartbeat"
# One ingestion transaction reads at most this much of a log; the rest comes next round.
MAX_BATCH_BYTES = 64 << 20


class EventLog:
    """Appends events for one run. Thread-safe; one writer process per run."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / EVENTS_FILE
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._seq = 0
        self._lock = threading.Lock()

    def append(self, event: dict) -> int:
        """Write ``event`` as the next line; its sequence number. InvalidInput (nothing
        written) for text that UTF-8 cannot encode (a lone surrogate): the checks of
        ``workbench.validation`` refuse it first, naming the field; this catches what they do
        not see (a record's nested data)."""
        with self._lock:
            event = {"seq": self._seq + 1, "ts": int(time.time() * 1000), **event}
            # standard JSON; a logged NaN or infinity travels as {"$float": "NaN"}
            line = jsontext.dumps_exact(event, separators=(",", ":"), ensure_ascii=False) + "\n"
            try:
                data = line.encode("utf-8")
            except UnicodeEncodeError as exc:
                path, text, at = find_unstorable(event) or ((), line, exc.start)
                where = "".join(f"[{p!r}]" for p in path if p is not KEY)
                what = f"The key {text!r}" if path[-1:] == (KEY,) else f"The value {text!r}"
                raise unstorable_error(
                    text, f"{what} at {event.get('type')}{where} of the logged event", at
                ) from None
            self._seq += 1
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            return self._seq

    def close(self) -> None:
        """Close the log's file descriptor; closing again does nothing. Appending after
        closing fails with OSError (a bad file descriptor)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def read_batch(run_id: str, path: Path, byte_offset: int, last_seq: int) -> IngestBatch | None:
    """Parse the complete lines after ``byte_offset`` into one batch, or None if none.

    A line without its newline (a writer killed mid-write) is left for later; a line that
    is not valid JSON is skipped, so one damaged line cannot stall a run's ingestion.
    """
    try:
        with path.open("rb") as fh:
            fh.seek(byte_offset)
            data = fh.read(MAX_BATCH_BYTES)
    except FileNotFoundError:
        return None
    end = data.rfind(b"\n")
    if end < 0:
        return None
    batch = IngestBatch(run_id=run_id, new_offset=byte_offset + end + 1, last_seq=last_seq)
    for raw in data[: end + 1].splitlines():
        try:
            event = jsontext.loads_exact(raw)
            seq = int(event["seq"])
        except (ValueError, KeyError, TypeError):
            continue
        if seq <= batch.last_seq:
            continue  # already applied
        try:
            _add(batch, event)
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # a hand-damaged event: skip it rather than stall the run's ingestion
        batch.last_seq = seq
    return batch


def _add(batch: IngestBatch, event: dict) -> None:
    kind = event.get("type")
    values = event.get("values") or {}
    if kind == "metrics":
        step, ts, seq = int(event.get("step", 0)), int(event["ts"]), int(event["seq"])
        points = [(str(key), float(value)) for key, value in values.items()]  # check first
        batch.metric_key.extend(key for key, _ in points)
        batch.metric_value.extend(value for _, value in points)
        batch.metric_step.extend([step] * len(points))
        batch.metric_ts.extend([ts] * len(points))
        batch.metric_seq.extend([seq] * len(points))
    elif kind == "params":
        batch.params.extend((str(key), _param(value)) for key, value in values.items())
    elif kind == "tags":
        batch.tags.extend((k, str(v)) for k, v in values.items())
    elif kind == "artifact":
        batch.artifacts.append(
            (event["path"], event["sha256"], int(event["size"]), _ts(event["ts"]))
        )
    elif kind == "record":
        batch.records.append(
            (
                str(event["kind"]),
                str(event["name"]),
                jsontext.dumps(event["data"], ensure_ascii=False),
            )
        )
    elif kind == "start":
        batch.start = _ts(event["ts"])
    elif kind == "end":
        batch.end = (event.get("status", "finished"), event.get("error"), _ts(event["ts"]))


def _param(value: object) -> ParamValue:
    """A param value as read from JSON, exact: JSON keeps an integer's digits and the SDK
    logs only 64-bit ints, so an int outside int64 (a hand-edited log) is kept as its text
    rather than rounded or left to stall ingestion; a list or object becomes its JSON."""
    if value is None or isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    return jsontext.dumps(value, ensure_ascii=False)


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def touch_heartbeat(run_dir: Path) -> None:
    """Beat for the run: set the modification time of ``run_dir/heartbeat`` to now
    (creating the file), which :func:`heartbeat_age` reads. ``run_dir`` must exist."""
    path = run_dir / HEARTBEAT_FILE
    path.touch(exist_ok=True)
    os.utime(path)


def heartbeat_age(run_dir: Path) -> float | None:
    """Seconds since the run's last heartbeat, or None if it never beat."""
    try:
        return max(time.time() - (run_dir / HEARTBEAT_FILE).stat().st_mtime, 0.0)
    except FileNotFoundError:
        return None
