"""``workbench serve MODEL_REF``: a small HTTP scoring endpoint on localhost, built on the
starlette and uvicorn that Streamlit already ships.

    POST /predict  {"rows": [{"age": 42, "plan": "pro", ...}, ...]}
      -> {"model": "churn-classifier/3", "predictions": [...], "probabilities": [[...]]}
    GET  /health   -> {"status": "ok", "model": "churn-classifier/3"}

The reference is resolved on every request, so moving the alias switches the model
served (each version is loaded once, after its hash check). Bad rows get HTTP 400 with the
signature error ("Column 'age' is missing ...").
"""

from __future__ import annotations

import threading

import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import registry
from app.signature import LoadedModel
from store.errors import InvalidInput, NotFound, WorkbenchError
from store.workspace import Workspace

MAX_ROWS = 100_000


def build_app(ws: Workspace, ref: str) -> Starlette:
    cache: dict[str, LoadedModel] = {}
    lock = threading.Lock()

    def current() -> LoadedModel:
        version = registry.get_version(ws, ref)  # per request: follows alias moves
        with lock:
            if version.ref not in cache:
                cache.clear()  # keep one model in memory
                cache[version.ref] = registry.load_model(ws, version.ref)
            return cache[version.ref]

    async def health(request: Request) -> JSONResponse:
        try:
            return JSONResponse({"status": "ok", "model": current().ref})
        except WorkbenchError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)

    async def predict(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, 'The body must be JSON: {"rows": [{column: value, ...}]}.')
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            return _error(400, 'Send {"rows": [...]}: a non-empty list of objects, one per row.')
        if len(rows) > MAX_ROWS:
            return _error(413, f"At most {MAX_ROWS:,} rows per request; got {len(rows):,}.")
        try:
            model = current()
            frame = pd.DataFrame(rows)
            out = {"model": model.ref, "predictions": _plain(model.predict(frame))}
            if model.signature["output"]["kind"] == "classification" and hasattr(
                    model.model, "predict_proba"):  # fmt: skip
                out["classes"] = model.signature["output"].get("classes")
                out["probabilities"] = model.predict_proba(frame).round(6).tolist()
            return JSONResponse(out)
        except InvalidInput as exc:
            return _error(400, str(exc))
        except NotFound as exc:
            return _error(404, str(exc))

    return Starlette(routes=[Route("/health", health), Route("/predict", predict,
                                                              methods=["POST"])])  # fmt: skip


def serve(ws: Workspace, ref: str, host: str = "127.0.0.1", port: int = 8600) -> None:
    import uvicorn

    registry.get_version(ws, ref)  # fail fast on a bad reference
    uvicorn.run(build_app(ws, ref), host=host, port=port, log_level="warning")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _plain(values) -> list:
    return [v.item() if hasattr(v, "item") else v for v in values]
