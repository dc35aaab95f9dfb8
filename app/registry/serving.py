"""``workbench serve MODEL_REF``: a small HTTP scoring endpoint on localhost, built on the
starlette and uvicorn that Streamlit already ships.

    POST /predict  {"rows": [{"age": 42, "plan": "pro", "seen": "2024-05-01T00:00:00Z"}]}
      -> {"model": "churn-classifier/3", "predictions": [...], "classes": [...],
          "probabilities": [[...]]}
    POST /invocations   the same, also taking MLflow's bodies {"dataframe_records": [...]}
                        and {"dataframe_split": {"columns": [...], "data": [[...]]}}
    GET  /health   -> {"status": "ok", "model": "churn-classifier/3"}

On a team workspace, and wherever an active serving token exists, ``/predict`` and
``/invocations`` need ``Authorization: Bearer wbt_...`` (``workbench.team.tokens``): HTTP 401
otherwise, counted and audited; ``/health`` then names the model only to a valid token.

Rows are brought to the model's signature by the rules every scoring door applies
(``workbench.registry.signature.conform``): ISO 8601 text for dates and timestamps (an offset or
``Z`` is
converted to UTC, no offset means UTC), whole numbers for integer columns, and so on. A model
fitted on an unnamed array takes rows as lists of numbers.

The reference is resolved on every request, so moving the alias switches the model
served (each version is loaded once, after its hash check). Bad rows get HTTP 400 with the
error naming the column ("Column 'age' is missing ..."), never a 500. Responses are
standard JSON: a prediction or probability that is not a finite number (NaN, infinity) is
sent as null, and a ``note`` says how many.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import logging
import math
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from workbench import network
from workbench.registry import models as registry
from workbench.registry.signature import LoadedModel
from workbench.settings import Settings
from workbench.store.errors import InvalidInput, NotFound, WorkbenchError
from workbench.store.text import KEY, escape_unstorable, find_unstorable, unstorable_error
from workbench.store.workspace import Workspace
from workbench.team.tokens import FLUSH_S, Gate

log = logging.getLogger("workbench.serve")

MAX_ROWS = 100_000


def build_app(ws: Workspace, ref: str, gate: Gate | None = None) -> Starlette:
    """The scoring app for ``ref`` on ``ws``. ``gate`` checks serving tokens (a new
    :class:`workbench.team.tokens.Gate` if None); its counts are recorded every ``FLUSH_S`` seconds
    while the app runs and when it shuts down."""
    cache: dict[str, LoadedModel] = {}
    lock = threading.Lock()
    gate = gate or Gate(ws, ref)

    def refused(request: Request) -> JSONResponse | None:
        client = request.client.host if request.client else None
        ok, why = gate.check(request.headers.get("authorization"), client)
        if ok:
            return None
        response = _error(401, why or "A serving token is needed.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="workbench serve"'
        return response

    def current() -> LoadedModel:
        version = registry.get_version(ws, ref)  # per request: follows alias moves
        with lock:
            if version.ref not in cache:
                cache.clear()  # keep one model in memory
                cache[version.ref] = registry.load_model(ws, version.ref)
            return cache[version.ref]

    async def health(request: Request) -> JSONResponse:
        try:
            if not gate.shows_model(request.headers.get("authorization")):
                return JSONResponse({"status": "ok"})  # alive; the rest needs a token
            return JSONResponse({"status": "ok", "model": current().ref})
        except WorkbenchError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)

    async def predict(request: Request) -> JSONResponse:
        denied = refused(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
        except ClientDisconnect:  # the client left mid-body: nobody to answer, no traceback
            log.info("predict: the client disconnected before its body was complete")
            return _error(400, "The client disconnected before the body was complete.")
        except ValueError as exc:
            if "integer string conversion" in str(exc):  # Python's 4,300-digit limit
                return _error(
                    400,
                    "A number in the body has more than 4,300 digits, more than any column "
                    "can hold; send values a float or a 64-bit integer can hold.",
                )
            return _error(400, 'The body must be JSON: {"rows": [{column: value, ...}]}.')
        except RecursionError:  # Python's parser stops near 1,000 levels of nesting
            return _error(
                400,
                "The body nests arrays or objects too deeply to be rows; send "
                '{"rows": [{column: value, ...}]}.',
            )
        try:
            model = current()
        except NotFound as exc:
            return _error(404, str(exc))
        except WorkbenchError as exc:  # the model cannot be loaded: not the caller's fault
            return _error(503, str(exc))
        try:
            if _ESCAPED_SURROGATE.search(await request.body()):  # the parsed body is cached
                _refuse_unstorable(body)
            frame = _frame(body, bool(model.signature.get("positional")))
            X = model.conform(_json_numbers(frame, model.signature))
            out = {"model": model.ref}
            notes: list[str] = []
            out["predictions"] = _clean(model.predict_conformed(X), "prediction", notes)
            if model.has_proba:
                out["classes"] = model.signature["output"].get("classes")
                out["probabilities"] = _clean(
                    model.predict_proba_conformed(X), "probability", notes
                )
            if notes:
                out["note"] = " ".join(notes)
            return _json(out)
        except _TooMany as exc:
            return _error(413, str(exc))
        except InvalidInput as exc:
            return _error(400, str(exc))
        except RecursionError:  # a value nested hundreds deep, within the parser's limit
            return _error(
                400,
                "A value nests arrays or objects too deeply; each value of a "
                "row is a number, a string, a boolean or null.",
            )
        except NotFound as exc:
            return _error(404, str(exc))
        except UnicodeEncodeError as exc:  # a surrogate the quick look missed (a UTF-16 body)
            try:
                _refuse_unstorable(body)
            except InvalidInput as refusal:
                return _error(400, str(refusal))
            return _failed(exc)
        except Exception as exc:  # never a bare 500 page: say what failed, as JSON
            return _failed(exc)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        stop = threading.Event()
        flusher = threading.Thread(
            target=_flush_every, args=(gate, stop), daemon=True, name="wb-serve-counts"
        )
        flusher.start()
        try:
            yield
        finally:
            stop.set()
            flusher.join(timeout=30)
            _flush_quietly(gate)

    routes = [
        Route("/health", health),
        Route("/predict", predict, methods=["POST"]),
        Route("/invocations", predict, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _flush_every(gate: Gate, stop: threading.Event) -> None:
    while not stop.wait(FLUSH_S):
        _flush_quietly(gate)


def _flush_quietly(gate: Gate) -> None:
    """Record the request counts; a failure (the database busy past its timeout) is logged
    and the counts wait for the next flush."""
    try:
        gate.flush()
    except Exception as exc:
        log.warning("could not record the request counts yet (%s); will try again", exc)


class _TooMany(InvalidInput):
    pass


# JSON can carry a lone surrogate only as a \u escape (D800 to DFFF): a body without one
# needs no walk through its strings (a valid pair such as "\ud83d\ude00" starts the walk,
# which finds nothing).
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_unstorable(body: Any) -> None:
    """InvalidInput naming the column (or the column name, a row's key) whose text holds a
    lone surrogate (``"\\ud800"`` in JSON): no model can read it as text, and pandas
    cannot hold it (it was a 500)."""
    found = find_unstorable(body)
    if found is not None:
        path, text, at = found
        raise unstorable_error(text, _where(body, path), at)


def _where(body: Any, path: tuple) -> str:
    """Where ``path`` (from :func:`store.text.find_unstorable`) is in a request body, as a
    message starts: "Column 'plan' of row 2", "The column name 'a\\ud800' of row 1"."""
    key = path[-1:] == (KEY,)
    at = path[:-1] if key else path
    if at[:1] in (("rows",), ("dataframe_records",)) and len(at) >= 3:
        row = at[1] + 1 if isinstance(at[1], int) else at[1]
        col = at[2]
        if isinstance(col, int):
            return f"Value {col + 1} of row {row}"
        if key and len(at) == 3:
            return f"The column name {col!r} of row {row}"
        return f"Column {col!r} of row {row}"
    if at[:2] == ("dataframe_split", "columns") and len(at) >= 3:
        return f"Column name {at[2] + 1} of dataframe_split.columns"
    if at[:2] == ("dataframe_split", "data") and len(at) >= 4:
        columns = body["dataframe_split"].get("columns")
        j = at[3]
        name = columns[j] if isinstance(columns, list) and j < len(columns) else j + 1
        return f"Column {name!r} of row {at[2] + 1}"
    where = "".join(f"[{p!r}]" for p in at)
    return f"The {'key' if key else 'value'} at body{where}"


def _frame(body: Any, positional: bool) -> pd.DataFrame:
    """The rows of a request body as a DataFrame, or InvalidInput saying what to send."""
    if not isinstance(body, dict):
        raise InvalidInput('Send {"rows": [...]}: a non-empty list of objects, one per row.')
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        if not (
            isinstance(split, dict)
            and isinstance(split.get("columns"), list)
            and isinstance(split.get("data"), list)
        ):
            raise InvalidInput('dataframe_split must be {"columns": [...], "data": [[...]]}.')
        rows: Any = split["data"]
        columns = split["columns"]
        if not rows or not all(isinstance(r, list) and len(r) == len(columns) for r in rows):
            raise InvalidInput(
                f"dataframe_split.data must be a non-empty list of rows of "
                f"{len(columns)} values each (one per column)."
            )
        _size(rows)
        return pd.DataFrame(rows, columns=[str(c) for c in columns])
    rows = body.get("rows", body.get("dataframe_records"))
    if positional and isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows):
        _size(rows)
        if len({len(r) for r in rows}) != 1:
            raise InvalidInput("Every row must have the same number of values.")
        return pd.DataFrame(rows)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput('Send {"rows": [...]}: a non-empty list of objects, one per row.')
    _size(rows)
    return pd.DataFrame(rows)


def _json_numbers(frame: pd.DataFrame, sig: dict[str, Any]) -> pd.DataFrame:
    """REST's rule for text in a numeric column (documented in docs/types.md and
    ``workbench.registry.signature``): JSON has no exact decimal type, so a JSON string in an
    integer or
    float input is read as an exact ``Decimal`` when it is a number (``"98.24"``, as pandas'
    ``to_json`` writes a decimal column; ``"70"`` and ``"7e1"``, both exactly 70, so whole
    and fine for an integer column; ``"NaN"``/``"Infinity"``, which JSON numbers cannot
    carry), then converted as any decimal is. Text that is not a number (``"abc"``) is
    refused, naming the column. The SDK takes no text for numbers: a DataFrame has numeric
    dtypes, so text there is a type error (``pd.to_numeric`` first)."""
    if sig.get("positional"):
        return frame
    families = {s["name"]: s.get("family") for s in sig.get("inputs", [])}
    out = {}
    for name in sorted(set(map(str, frame.columns)) & set(families)):
        if families[name] not in ("integer", "float"):
            continue
        column = frame[name]
        if not (column.dtype == object or pd.api.types.is_string_dtype(column.dtype)):
            continue  # numbers (or booleans) only: nothing to read
        values = []
        for v in column.tolist():
            if isinstance(v, str):
                try:
                    d = decimal.Decimal(v.strip())
                except decimal.InvalidOperation:
                    d = None
                if d is None or d.is_snan():
                    raise InvalidInput(
                        f"Column {name!r} holds the text {v[:40]!r}, which is not a number; "
                        f"the model was trained on {families[name]}s. Send a JSON number (or "
                        'a number as text, e.g. "70" or "98.24").'
                    )
                v = d
            values.append(v)
        if not any(isinstance(v, decimal.Decimal) for v in values):
            continue
        # numbers next to numeric text: all as exact decimals (a JSON number's text is exact)
        values = [
            decimal.Decimal(str(v))
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and not (isinstance(v, float) and math.isnan(v))
            else v
            for v in values
        ]
        out[name] = pd.Series(values, index=column.index, dtype=object)
    return frame.assign(**out) if out else frame


def _size(rows: list) -> None:
    if len(rows) > MAX_ROWS:
        raise _TooMany(f"At most {MAX_ROWS:,} rows per request; got {len(rows):,}.")


def _clean(values: Any, what: str, notes: list[str]) -> list:
    """``values`` as plain JSON values; a non-finite float becomes null (counted in notes)."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        plain = np.where(bad, None, array.round(6) if what == "probability" else array).tolist()
        if bad.any():
            notes.append(
                f"{int(bad.sum())} {what} value{'' if bad.sum() == 1 else 's'} "
                "not a finite number (NaN or infinity), sent as null."
            )
        return plain
    return [_plain(v) for v in array.tolist()]


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _json(content: Any, status: int = 200) -> JSONResponse:
    """A JSON response that is standard JSON (JSONResponse refuses NaN and infinity)."""
    return JSONResponse(content, status_code=status)


def serve(
    ws: Workspace,
    ref: str,
    host: str = "127.0.0.1",
    port: int = 8600,
    announce: Callable[[], None] | None = None,
    gate: Gate | None = None,
) -> None:
    """Serve ``ref`` until interrupted. Fails fast (NotFound, InvalidInput) on a bad
    reference or a model that cannot be loaded here, before ``announce`` is called.
    ``gate`` checks serving tokens (:class:`workbench.team.tokens.Gate`; a new one if None). The
    address is bound before ``announce`` (:func:`workbench.network.bind`: InvalidInput for a
    busy port, a name that does not resolve, a port outside 1 to 65535)."""
    import uvicorn

    sock = network.bind(host, port)  # fail fast: a busy port, an unknown name (InvalidInput)
    try:
        registry.load_model(ws, ref)  # fail fast: a bad reference or a model that cannot load
    except BaseException:
        sock.close()
        raise
    if announce is not None:
        announce()
    config = uvicorn.Config(build_app(ws, ref, gate), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def _error(status: int, message: str) -> JSONResponse:
    # JSONResponse encodes to UTF-8: a lone surrogate echoed from the request is escaped
    return _json({"error": escape_unstorable(message)}, status)


def _failed(exc: Exception) -> JSONResponse:
    """HTTP 500 for a model that raised on the rows: the traceback goes to the server's log
    (logger ``workbench.serve``, level ERROR) under a fresh error id (8 hex digits), which
    the JSON body carries as ``error_id``. In team mode (WORKBENCH_TEAM) the body says
    nothing of the exception (its text may hold the server's paths), as team mode's pages
    do; alone, it gives the exception's first line."""
    error_id = secrets.token_hex(4)
    log.error("error id %s: the model raised %s", error_id, type(exc).__name__, exc_info=exc)
    message = f"The model failed on these rows (error id {error_id}"
    try:
        team = Settings.from_env().team
    except Exception:  # a bad setting: say as little as team mode would
        team = True
    if team:
        message += "; the server's log has the details under this id)"
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        message += f"; {type(exc).__name__}: {first})"
    message += ". Check the rows against the model's signature (GET /health names the model)."
    return _json({"error": message, "error_id": error_id}, 500)
