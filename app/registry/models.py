"""The model registry: register a run's model, move aliases (with history and rollback),
load safely, score datasets, compare champion and challenger, promote through a gate.

References: ``churn-classifier@champion`` (an alias), ``churn-classifier/3`` or
``churn-classifier@v3`` (a version), ``churn-classifier`` or ``@latest`` (the newest).
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import pandas as pd

from workbench import files
from workbench.datasets import versions as datasets
from workbench.registry import signature
from workbench.retry import write_retrying
from workbench.store import audit, jsontext, runs_admin
from workbench.store import registry as q
from workbench.store.entities import AliasEvent, Model, ModelVersion, RunDetail, utcnow
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user, requires
from workbench.tracking import experiments
from workbench.tracking.events import EVENTS_FILE
from workbench.validation import check_dataset_name, check_key, check_note, check_tag_value

if TYPE_CHECKING:
    import jinja2

    from workbench.registry.promotion import Verdict

MODEL_FILE = "model.joblib"
# The alias production serves. The promotion gate guards it: see set_alias.
PROTECTED_ALIAS = "champion"
_ALIAS_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,62}$")
_REF_RE = re.compile(r"^(?P<name>[^@/]+)(?:/(?P<n>\d+)|@v(?P<v>\d+)|@(?P<alias>[\w\-]+))?$")


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """(name, version, alias) of a model reference; both None means the latest."""
    m = _REF_RE.match(ref.strip()) if isinstance(ref, str) else None
    if not m:
        raise InvalidInput(
            f"{ref!r} is not a model reference; write 'churn-classifier@champion'"
            ", 'churn-classifier/3' or 'churn-classifier'."
        )
    number = m.group("n") or m.group("v")
    alias = m.group("alias")
    if alias == "latest":
        alias = None
    return check_dataset_name(m.group("name"), "Model"), int(number) if number else None, alias


def check_alias(alias: str) -> str:
    """``alias`` when it may name an alias: lowercase letters, digits, ``_`` and ``-``,
    starting with a letter, at most 63 characters, and not ``latest`` or ``v<number>``
    (reserved, as in MLflow: they always mean the newest and a numbered version). Raises
    InvalidInput saying which rule it breaks."""
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise InvalidInput(
            f"Alias {alias!r} is not allowed: use lowercase letters, digits, "
            "'_' and '-', starting with a letter (e.g. 'champion')."
        )
    if alias == "latest" or re.fullmatch(r"v\d+", alias):
        raise InvalidInput(
            f"Alias {alias!r} is reserved: 'latest' and 'v<number>' always mean "
            "the newest and a numbered version. Choose another name."
        )
    return alias


# -- registering -------------------------------------------------------------------------------


@requires("editor")
def register_model(
    ws: Workspace,
    run_id: str,
    name: str,
    *,
    tags: dict[str, Any] | None = None,
    actor: str | None = None,
) -> ModelVersion:
    """A new version of model ``name`` from a finished run that logged ``model.joblib``."""
    actor = actor or current_user()
    name = check_dataset_name(name, "Model")
    clean_tags = {check_key(k, "Tag"): check_tag_value(k, v) for k, v in (tags or {}).items()}
    detail = experiments.get_run(ws, run_id)
    if detail.run.status != "finished":
        raise InvalidInput(
            f"Run {detail.run.name!r} is {detail.run.status}; only a finished "
            "run's model can be registered."
        )
    artifact = next((a for a in detail.artifacts if a.path == MODEL_FILE), None)
    if artifact is None:
        raise InvalidInput(
            f"Run {detail.run.name!r} logged no {MODEL_FILE}; launch the run from "
            "the app, use wb.autolog(), or log_artifact a joblib file named "
            f"{MODEL_FILE}."
        )
    model = _unpickle(ws, artifact.sha256, detail.run.name)
    records = ws.store.read(lambda tx: runs_admin.run_records(tx, run_id))
    spec = records.get(("spec", "run"))
    sig, dataset_ref = _signature(
        ws, model, spec, detail, records.get(("spec", "signature")), records
    )
    metrics = {k: m.last_value for k, m in detail.metrics.items()}
    libraries = {k.removeprefix("env."): v for k, v in detail.tags.items() if k.startswith("env.")}
    card = _card(name, detail, dataset_ref, sig, metrics)

    def work(tx) -> ModelVersion:
        found = q.find_model(tx, name)
        model_id = found.model_id if found else uuid.uuid4().hex
        if found is None:
            q.insert_model(tx, model_id, name, actor)
        version = ModelVersion(
            model_id,
            name,
            q.next_version(tx, model_id),
            run_id,
            dataset_ref,
            artifact.sha256,
            artifact.size_bytes,
            sig,
            metrics,
            libraries,
            card,
            utcnow(),
            actor,
            clean_tags,
        )
        q.insert_version(tx, version)
        audit.record(
            tx,
            actor=actor,
            action="model.version.create",
            object_type="model_version",
            object_id=version.ref,
            detail={"run_id": run_id, "sha256": artifact.sha256, "dataset": dataset_ref},
        )
        return version

    # two sessions registering at once: the loser goes again with the next number
    return write_retrying(ws.store, work)


def _signature(
    ws: Workspace,
    model: Any,
    spec: dict | None,
    detail,
    recorded: dict | None,
    records: dict | None = None,
) -> tuple[dict, str | None]:
    """The model's signature and training dataset version (``name@vN``, or None). The
    signature comes from the data it was fitted on: the dataset version a launched run
    trained on, else the inputs recorded when it was fitted (autolog) or logged
    (``log_model``), else what the model itself knows (names without types, or a column
    count). Never guessed from names. Outside a launched run, the dataset version is the
    one the run logged as its input (``run.log_input``; see :func:`_logged_dataset`)."""
    if spec is not None:
        frame = datasets.load(ws, spec["dataset"])
        features = list(spec.get("features") or [c for c in frame.columns if c != spec["target"]])
        return signature.infer(
            frame, features, model, spec.get("task") or detail.tags.get("task", "classification")
        ), spec["dataset"]
    try:
        return signature.for_model(model, recorded), _logged_dataset(records)
    except InvalidInput as exc:
        raise InvalidInput(f"Run {detail.run.name!r}: {exc}") from exc


def _logged_dataset(records: dict | None) -> str | None:
    """The training dataset version (``name@vN``) among a run's logged inputs
    (``run.log_input(version, role)``, or autolog on a frame from ``wb.load_dataset``): the
    one with role ``"train"``, else the only input; None when there is none, or several and
    none is ``"train"`` (which one trained the model is then not known)."""
    inputs = {name: data for (kind, name), data in (records or {}).items() if kind == "input"}
    data = inputs.get("train") or (next(iter(inputs.values())) if len(inputs) == 1 else None)
    if not isinstance(data, dict) or not data.get("dataset") or data.get("version") is None:
        return None
    return f"{data['dataset']}@v{int(data['version'])}"


def card_context(
    name: str, detail: RunDetail, dataset_ref: str | None, sig: dict, metrics: dict[str, float]
) -> dict[str, Any]:
    """What a new version's model card says, as plain values for the template
    ``templates/model_card.md``: the model ``name``, the run (``detail``: its name, id,
    experiment and first 40 params), the training ``dataset_ref`` (None: "not recorded"),
    the inputs and output from the signature ``sig``, and ``metrics`` (name -> last value)
    sorted by name and shown to 4 significant digits (``format(v, ".4g")``)."""
    classes = sig["output"].get("classes")
    return {
        "name": name,
        "run_name": detail.run.name,
        "run_id": detail.run.run_id,
        "experiment": detail.experiment_name,
        "dataset_ref": dataset_ref,
        "inputs_text": signature.describe_inputs(sig),
        "output_kind": sig["output"]["kind"],
        "classes": str(classes) if classes else None,
        "metrics": [(k, f"{v:.4g}") for k, v in sorted(metrics.items())],
        "params": list(detail.params.items())[:40],
    }


def render_card(context: dict[str, Any]) -> str:
    """The markdown model card a version starts with (users edit it afterwards: see
    :func:`update_card`), from :func:`card_context`'s values through the jinja2 template
    ``templates/model_card.md``. Markdown, so nothing is HTML-escaped: Streamlit shows HTML
    in markdown as text, and :func:`card_html` escapes it for a page."""
    return _template("model_card.md").render(context)


def _card(name: str, detail: RunDetail, dataset_ref: str | None, sig: dict, metrics: dict) -> str:
    return render_card(card_context(name, detail, dataset_ref, sig, metrics))


def card_html(ws: Workspace, ref: str) -> str:
    """Model version ``ref``'s card as a standalone HTML page (UTF-8 text): the registry's
    facts (run, training dataset version, who registered it and when, the model file's
    sha256, aliases), the card as its users wrote it (markdown, shown preformatted: no
    markdown renderer is a dependency), the signature's inputs and output, the metrics (4
    significant digits) and the library versions. Rendered by the jinja2 template
    ``templates/model_card.html`` with autoescaping, so a ``<script>`` in a card, a name or
    a param is shown as text, never run. Raises NotFound for an unknown ``ref``."""
    version = get_version(ws, ref)
    sig = version.signature
    positional = bool(sig.get("positional"))
    classes = sig.get("output", {}).get("classes")
    return _template("model_card.html").render(
        ref=version.ref,
        aliases=list(version.aliases),
        run_id=version.run_id,
        dataset_ref=version.dataset_ref,
        created_at=f"{version.created_at:%Y-%m-%d %H:%M}",
        created_by=version.created_by,
        sha256=version.sha256,
        card=version.card,
        positional=signature.describe_inputs(sig) if positional else None,
        inputs=[
            (c["name"], signature.family_label(c.get("family", "unknown")))
            for c in sig.get("inputs", [])
        ],
        output_kind=sig.get("output", {}).get("kind", "unknown"),
        classes=str(classes) if classes else None,
        metrics=[
            (k, f"{v:.4g}" if isinstance(v, int | float) else str(v))
            for k, v in sorted(version.metrics.items())
        ],
        libraries=sorted(version.libraries.items()),
    )


@functools.cache
def _environment() -> jinja2.Environment:
    """The jinja2 environment of ``workbench/registry/templates``: autoescaping for the
    ``.html`` templates only (markdown is not HTML), the trailing newline kept (a card ends
    with one) and an undefined name an error rather than an empty string. jinja2 is imported
    here: only writing a card needs it, not the registry's reads."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("workbench.registry", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = markdown_text
    return env


# What would let a value logged to a run restructure a markdown card: a table cell's
# bar, a line break (a new row), a link or an image (fetched by whoever opens the card), a
# code span. Raw HTML stays as written: the page shows it as text (st.markdown without
# unsafe HTML) and the HTML card escapes it.
_MARKDOWN_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "[": "\\[", "]": "\\]", "`": "\\`"})


def markdown_text(value: object) -> str:
    """``value`` as text for one line of a markdown card: line breaks become spaces and the
    characters that make tables, links, images and code (``| [ ] ` \\``) are escaped, so
    a run name or param value cannot add rows or columns, or fetch an image.
    Ordinary names (``max_depth``, ``0.1``) come out unchanged."""
    text = " ".join(str(value).splitlines())
    return text.translate(_MARKDOWN_ESCAPES)


def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


# -- reading -----------------------------------------------------------------------------------


def training_target(ws: Workspace, version: ModelVersion) -> str | None:
    """The label column the model ``version`` was trained to predict, from the launch spec
    its run recorded (``workbench.training.runner.run_spec`` writes it; read here as the
    record itself, so no training code is imported); None for a model logged from code
    (no launch spec). The comparison, model drift and monitoring default to it."""
    records = ws.store.read(lambda tx: runs_admin.run_records(tx, version.run_id, "spec"))
    target = (records.get(("spec", "run")) or {}).get("target")
    return target if isinstance(target, str) else None


def training_inputs(ws: Workspace, version: ModelVersion) -> tuple[str, ...]:
    """Every dataset version (``name@vN``) model ``version`` was fitted on, as far as its run
    recorded: the version registration kept (``version.dataset_ref``: a launched run's
    dataset, or the run's logged training input) and every input the run logged with role
    ``"train"`` (``run.log_input(ref)`` once per version a model was fitted on). The run's
    input record keeps only the last version logged under a role, so the earlier ones are
    read from the run's event log (``runs/<run_id>/events.jsonl``, which ingestion keeps).
    In that order, without repeats; empty when the run recorded no training data (a model
    logged by hand without ``run.log_input``). The promotion gate counts each of them as
    the model's training data."""
    refs = [version.dataset_ref] if version.dataset_ref else []
    path = ws.paths.run_dir(version.run_id) / EVENTS_FILE
    try:
        with path.open("rb") as fh:
            lines = [raw for raw in fh if b'"input"' in raw]  # parse only the input records
    except (FileNotFoundError, NotADirectoryError):
        lines = []
    for raw in lines:
        try:
            event = jsontext.loads_exact(raw)
        except ValueError:
            continue  # a damaged line (ingestion skips it too)
        if not isinstance(event, dict):
            continue
        data = event.get("data")
        if (
            event.get("type") == "record"
            and event.get("kind") == "input"
            and event.get("name") == "train"
            and isinstance(data, dict)
            and data.get("dataset")
            and isinstance(data.get("version"), int)
        ):
            refs.append(f"{data['dataset']}@v{data['version']}")
    return tuple(dict.fromkeys(refs))


def list_models(ws: Workspace) -> list[Model]:
    """Every registered model by name, with its latest version number and its aliases
    (alias -> version); empty when none is registered."""
    return ws.store.read(q.list_models)


def list_versions(ws: Workspace, name: str) -> list[ModelVersion]:
    """The versions of model ``name``, newest first. Raises NotFound (no such model) and
    InvalidInput (a name no model can have)."""
    model = _model(ws, name)
    return ws.store.read(lambda tx: q.versions(tx, model.model_id))


_resolved: dict[tuple[str, str], tuple[tuple, ModelVersion]] = {}


def get_version(ws: Workspace, ref: str) -> ModelVersion:
    """The version a reference names. Raises NotFound saying what exists.

    Resolutions are remembered per store generation (which every commit, by any process,
    changes), so loading or serving by alias re-reads the database only after a write."""
    key = (str(ws.root), ref)
    generation = ws.store.generation()
    cached = _resolved.get(key)
    if cached is not None and cached[0] == generation:
        return cached[1]
    version = _get_version(ws, ref)
    if len(_resolved) > 256:
        _resolved.clear()
    _resolved[key] = (generation, version)
    return version


def _get_version(ws: Workspace, ref: str) -> ModelVersion:
    name, number, alias = parse_ref(ref)

    def work(tx) -> ModelVersion:
        resolved = q.resolve(tx, name, alias)  # one statement on the hot path (load, serve)
        if resolved is None:
            names = [m.name for m in q.list_models(tx)]
            raise NotFound(
                f"Model {name!r} not found; "
                + (
                    f"registered: {', '.join(names[:20])}."
                    if names
                    else "no model is registered yet."
                )
            )
        model_id, latest, alias_points_at = resolved
        wanted = number
        if alias is not None:
            if alias_points_at is None:
                known = ", ".join(sorted(q.find_model(tx, name).aliases)) or "none"
                raise NotFound(f"{name} has no alias {alias!r}; its aliases: {known}.")
            wanted = alias_points_at
        wanted = latest if wanted is None else wanted  # 0 is a version number, not "latest"
        found = q.versions(tx, model_id, wanted)
        if not found:
            start = " (versions start at 1)" if wanted == 0 else ""
            raise NotFound(
                f"Model version {name}/{wanted} not found{start}; versions 1 to {latest} exist."
            )
        return found[0]

    return ws.store.read(work)


def alias_history(ws: Workspace, name: str, alias: str | None = None) -> list[AliasEvent]:
    """Every move of model ``name``'s aliases (only ``alias``'s, when given), newest first:
    from and to version (None: set the first time, or removed), who, when (UTC) and the
    reason. Raises NotFound for an unknown model."""
    model = _model(ws, name)
    return ws.store.read(lambda tx: q.alias_history(tx, model.model_id, alias))


def _model(ws: Workspace, name: str) -> Model:
    name = check_dataset_name(name, "Model")
    model = ws.store.read(lambda tx: q.find_model(tx, name))
    if model is None:
        raise NotFound(f"Model {name!r} not found; register a run's model first.")
    return model


# -- aliases -----------------------------------------------------------------------------------


def alias_role(name: str, alias: str, *args: Any, **kwargs: Any) -> str:
    """Moving ``champion`` (what production serves) takes an admin; other aliases, an editor."""
    return "admin" if alias == PROTECTED_ALIAS else "editor"


@requires(alias_role)
def set_alias(
    ws: Workspace,
    name: str,
    alias: str,
    version: int,
    *,
    actor: str | None = None,
    reason: str = "",
    override: bool = False,
    gate: Verdict | None = None,
) -> int | None:
    """Point ``alias`` at ``version``; returns the version it pointed at before. Two
    sessions moving it at once: the later commit wins and both moves are in the history.

    ``champion`` (:data:`PROTECTED_ALIAS`) is guarded by the promotion gate: its door is
    :func:`workbench.registry.promotion.promote`, which passes the gate's ``Verdict`` as ``gate``.
    Moving
    an existing champion to another version without a gate that passed every check is an
    override of the gate: it needs an admin (:func:`alias_role`), ``override=True`` and a
    ``reason``; the audit event (``model.alias.move``) then records ``override``, the
    reason and every waived check (the failing checks, or "the gate was not run" for a
    direct move). Without them it raises InvalidInput saying what to do. The first
    champion (never set before: the gate has nothing to compare with) and moves of other
    aliases are not gated. :func:`rollback` restores the version champion held before."""
    alias = check_alias(alias)
    actor = actor or current_user()
    reason = check_note(reason.strip(), "The reason") if isinstance(reason, str) else ""
    if override and not reason:
        raise InvalidInput(
            f"Overriding the promotion gate for {name}@{alias} needs a reason: "
            "say why the refused checks may be waived (it goes into the audit "
            "log)."
        )
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"Version {version!r} is not a version number; give one like 3 "
            f"(`workbench models versions {name}` lists them)."
        ) from None
    return _move(ws, name, alias, version, actor, reason, gated=True, override=override, gate=gate)


@requires(alias_role)
def remove_alias(ws: Workspace, name: str, alias: str, *, actor: str | None = None) -> None:
    """Remove ``alias`` (recorded in its history and the audit log). Setting ``champion``
    again afterwards is not a first champion: it goes through the gate or an override."""
    model = _model(ws, name)
    actor = actor or current_user()
    alias = check_alias(alias)

    def work(tx) -> None:
        before = q.move_alias(tx, model.model_id, alias, None, actor, "removed")
        audit.record(
            tx,
            actor=actor,
            action="model.alias.remove",
            object_type="model",
            object_id=name,
            detail={"alias": alias, "from": before},
        )

    ws.store.write(work)


@requires(alias_role)
def rollback(ws: Workspace, name: str, alias: str, *, actor: str | None = None) -> int:
    """Move ``alias`` back to the version it pointed at before its last move.

    For ``champion`` the gate still holds: going back to a version that once held it
    through the gate (or as the first champion) is free, since that is what a rollback
    is for; going back to one that held it only by an override of the gate (or by
    rollbacks onto such a one) is refused with InvalidInput: that needs an admin's
    override with a reason, through :func:`set_alias`, as any move of champion does."""
    history = alias_history(ws, name, check_alias(alias))
    previous = next((e.from_version for e in history if e.from_version is not None), None)
    if not history or previous is None:
        raise InvalidInput(f"{name}@{alias} has no earlier version to roll back to.")
    if alias == PROTECTED_ALIAS and not _held_through_the_gate(history, previous):
        raise InvalidInput(
            f"Rolling {name}@{alias} back would return it to v{previous}, which held it only "
            "by an override of the promotion gate. Going back there is another override: as "
            f"an admin, move it with a reason (`workbench models alias {name} {alias} "
            f"{previous} --override --reason TEXT`, set_alias(..., override=True, reason=...) "
            "in Python, 'Move an alias' with 'Override the promotion gate' on the Models "
            "page), or promote through the gate."
        )
    _move(
        ws,
        name,
        alias,
        previous,
        actor or current_user(),
        f"rollback from v{history[0].to_version}",
        gated=False,
    )
    return previous


_OVERRIDDEN = "gate overridden: "  # how _move records a move that overrode the gate
_ROLLED_BACK = "rollback from v"


def _held_through_the_gate(history: list[AliasEvent], version: int) -> bool:
    """Whether ``version`` ever arrived at the alias other than by an override of the gate
    or a rollback (the history, newest first, of one alias)."""
    return any(
        e.to_version == version
        and not e.reason.startswith(_OVERRIDDEN)
        and not e.reason.startswith(_ROLLED_BACK)
        for e in history
    )


def _move(
    ws: Workspace,
    name: str,
    alias: str,
    version: int,
    actor: str,
    reason: str,
    *,
    gated: bool,
    override: bool = False,
    gate: Verdict | None = None,
) -> int | None:
    """Point ``alias`` at ``version`` and record it (history and audit log); returns the
    version it pointed at before. ``gated``: a move of an existing champion to another
    version needs ``gate`` with every check passed, or ``override`` (see set_alias)."""
    model = _model(ws, name)

    def work(tx) -> int | None:
        if not q.versions(tx, model.model_id, version):
            raise NotFound(f"{name} has no version {version}.")
        detail: dict[str, Any] = {"alias": alias, "to": version, "reason": reason}
        recorded = reason
        current = q.alias_version(tx, model.model_id, alias)
        first = current is None and not q.alias_history(tx, model.model_id, alias)
        if gated and alias == PROTECTED_ALIAS and current != version and not first:
            waived = _waived(gate)
            if gate is not None:
                detail["gate"] = {
                    "dataset": gate.dataset,
                    "checks": [{"check": n, "passed": ok, "detail": d} for n, ok, d in gate.checks],
                }
            if waived:
                if not override:
                    raise InvalidInput(_gate_refusal(name, version, gate, waived))
                detail |= {"override": True, "waived": waived}
                recorded = f"{_OVERRIDDEN}{reason}"
        before = q.move_alias(tx, model.model_id, alias, version, actor, recorded)
        audit.record(
            tx,
            actor=actor,
            action="model.alias.move",
            object_type="model",
            object_id=name,
            detail={**detail, "from": before},
        )
        return before

    # Two first moves of the same alias both insert its row; the later commit fails on the
    # key. Going again updates the row, so the last writer wins and both moves are in the
    # history (see workbench.retry).
    return write_retrying(ws.store, work)


def _waived(gate: Verdict | None) -> list[str]:
    """The checks a move of champion waives: the gate's failing ones ("name: detail"), or
    the whole gate when it was not run."""
    if gate is None:
        return ["promotion gate: not run (champion moved directly, not through promote)"]
    return [f"{n}: {d}" for n, ok, d in gate.checks if not ok]


def _gate_refusal(name: str, version: int, gate: Verdict | None, waived: list[str]) -> str:
    if gate is None:
        head = (
            f"{name}@{PROTECTED_ALIAS} is guarded by the promotion gate, and moving it to "
            f"v{version} directly skips the gate."
        )
    else:
        head = (
            f"The promotion gate refuses {name}/{version} on {gate.dataset}: "
            + "; ".join(waived)
            + "."
        )
    return (
        head + " Promote through the gate (Models page, Champion vs challenger; "
        f"`workbench models promote {name} --dataset REF --target COLUMN`; "
        "wb.promote), or, as an admin, override it with a reason: "
        "`--override --reason TEXT` on the command line, override=True and reason=... in "
        "Python, 'Move an alias' with 'Override the promotion gate' on the Models page."
    )


@requires("admin")
def delete_version(ws: Workspace, name: str, version: int, *, actor: str | None = None) -> None:
    """Delete a version; refused while an alias points at it."""
    model = _model(ws, name)
    actor = actor or current_user()

    def work(tx) -> None:
        pointing = [a for a, v in model.aliases.items() if v == version]
        current = [a for a in pointing if q.alias_version(tx, model.model_id, a) == version]
        if current:
            raise InvalidInput(
                f"{name}/{version} cannot be deleted: {', '.join(current)} "
                f"point{'s' if len(current) == 1 else ''} at it. Move "
                f"{'it' if len(current) == 1 else 'them'} first."
            )
        if not q.versions(tx, model.model_id, version):
            raise NotFound(f"{name} has no version {version}.")
        q.delete_version(tx, model.model_id, version)
        audit.record(
            tx,
            actor=actor,
            action="model.version.delete",
            object_type="model_version",
            object_id=f"{name}/{version}",
        )

    ws.store.write(work)


@requires("editor")
def update_card(ws: Workspace, ref: str, card: str, *, actor: str | None = None) -> None:
    """Replace the model card (markdown) of version ``ref`` and record the edit in the
    audit log (``model.card.edit``). Raises NotFound (unknown ``ref``) and InvalidInput
    (a card over 100,000 characters)."""
    version = get_version(ws, ref)
    if len(card) > 100_000:
        raise InvalidInput("The model card is over 100,000 characters; shorten it.")
    actor = actor or current_user()

    def work(tx) -> None:
        q.set_card(tx, version.model_id, version.version, card)
        audit.record(
            tx,
            actor=actor,
            action="model.card.edit",
            object_type="model_version",
            object_id=version.ref,
        )

    ws.store.write(work)


# -- loading and scoring -----------------------------------------------------------------------


def load_model(ws: Workspace, ref: str) -> signature.LoadedModel:
    """The model, after checking its file's sha256; predict enforces its signature."""
    version = get_version(ws, ref)
    model = _unpickle(ws, version.sha256, version.ref)
    return signature.LoadedModel(model, version.signature, version.ref, version.libraries)


def _unpickle(ws: Workspace, sha256: str, label: str) -> Any:
    """The object pickled in blob ``sha256``; InvalidInput when it needs code (a function or
    class) that cannot be imported in this process, e.g. one defined in a notebook or the
    training script's ``__main__``: pickle stores such things by module and name only."""
    data = ws.blobs.read_verified(sha256)  # refuses a changed or missing file
    try:
        return joblib.load(io.BytesIO(data))
    except (AttributeError, ImportError) as exc:  # ModuleNotFoundError is an ImportError
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InvalidInput(
            f"model {label} needs code that cannot be imported here ({first}); define that "
            "function or class in an importable module (not in the notebook or __main__) and "
            "log the model again."
        ) from None


def predict_frame(model: signature.LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions (and class probabilities for classifiers) as columns, on ``frame``'s
    index. The frame is brought to the signature once (``signature.conform``); InvalidInput
    names a column that cannot be."""
    X = model.conform(frame)
    out = pd.DataFrame({"prediction": model.predict_conformed(X)}, index=frame.index)
    if model.has_proba:
        proba = model.predict_proba_conformed(X)
        for i, cls in enumerate(model.signature["output"].get("classes", [])):
            out[f"proba_{cls}"] = proba[:, i]
    return out


@requires("editor")
def score(
    ws: Workspace,
    model_ref: str,
    dataset_ref: str,
    *,
    output: str | None = None,
    actor: str | None = None,
) -> datasets.Registration:
    """Score a dataset version and register the predictions (input rows plus prediction
    columns) as a new dataset version whose tags name the model version and the input.
    Raises NotFound (no such model or version) and InvalidInput when the version lacks one of
    the model's input columns or the model was fitted on an unnamed array
    (``signature.require_inputs``)."""
    model = load_model(ws, model_ref)
    source = datasets.get_version(ws, dataset_ref)
    frame = datasets.load(ws, source.ref)
    inputs = signature.require_inputs(
        model.signature,
        frame.columns,
        model.ref,
        source.ref,
        "score a version that has the model's inputs.",
    )
    scored = pd.concat(
        [frame.reset_index(drop=True), predict_frame(model, frame[inputs]).reset_index(drop=True)],
        axis=1,
    )
    name = output or f"{source.dataset_name}-scored"
    return datasets.register(
        ws,
        scored,
        name,
        source_kind="prediction",
        source_name=f"{model.ref} on {source.ref}",
        message=f"predictions of {model.ref} on {source.ref}",
        tags={"lineage.model": model.ref, "lineage.input": source.ref},
        actor=actor,
    )


def export_version(ws: Workspace, ref: str, target: Path | str) -> Path:
    """Write a version as a folder: model.joblib (hash-checked), signature.json,
    MODEL_CARD.md (the card as written), MODEL_CARD.html (:func:`card_html`),
    requirements.txt and version.json. Refuses (InvalidInput) an empty
    ``target``, a file (or a device, a pipe, a dangling link) at ``target`` or in the way
    of its folders, and a non-empty folder."""
    target = files.given_path(target, "export folder")
    files.refuse_inside(ws.root, target, "export")
    if (why := files.in_the_way(target)) is not None:
        raise InvalidInput(
            f"Cannot export into {target}: {why}; a model exports into a new or empty folder."
        )
    version = get_version(ws, ref)
    if target.exists() and any(target.iterdir()):
        raise InvalidInput(f"{target} is not empty; export into a new or empty folder.")
    target.mkdir(parents=True, exist_ok=True)
    ws.blobs.copy_out(version.sha256, target / MODEL_FILE)
    (target / "signature.json").write_text(_json_text(version.signature))
    (target / "MODEL_CARD.md").write_text(version.card, encoding="utf-8")
    (target / "MODEL_CARD.html").write_text(card_html(ws, version.ref), encoding="utf-8")
    pins = {"sklearn": "scikit-learn", "pandas": "pandas", "numpy": "numpy", "joblib": "joblib"}
    (target / "requirements.txt").write_text(
        "".join(
            f"{package}=={version.libraries[key]}\n"
            for key, package in pins.items()
            if key in version.libraries
        )
    )
    meta = {
        "model": version.model_name,
        "version": version.version,
        "run_id": version.run_id,
        "dataset": version.dataset_ref,
        "sha256": version.sha256,
        "metrics": version.metrics,
        "aliases": list(version.aliases),
        "python": version.libraries.get("python"),
    }
    (target / "version.json").write_text(_json_text(meta))
    return target


def _json_text(data: Any) -> str:
    """Standard JSON (no NaN or Infinity tokens): a non-finite number is written as null."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return json.dumps(plain(data), indent=2, default=str, allow_nan=False) + "\n"


# Metrics a version's row in a table shows (those present, in name order): scores
# ``workbench.training.task`` computes on held-out data (classification: accuracy, ROC AUC,
# macro F1; regression: RMSE, R², MAE). The other metrics stay on the version.
HEADLINE_METRICS = ("accuracy", "roc_auc", "f1_macro", "rmse", "r2", "mae")
# Metrics logged per step or per fold (``staged_accuracy`` at each boosting stage,
# ``fold_accuracy`` per cross-validation fold): their last value is not the model's score.
_PER_STEP_PREFIXES = ("fold_", "staged_")


def headline_metrics(versions: Sequence[ModelVersion]) -> list[str]:
    """The :data:`HEADLINE_METRICS` any of ``versions`` logged, in name order: the metric
    columns of a table of versions (the Models page's)."""
    logged = {k for v in versions for k in v.metrics}
    return sorted(k for k in logged if k in HEADLINE_METRICS)


def compared_metrics(*versions: ModelVersion) -> list[str]:
    """Every metric any of ``versions`` logged, in name order, less the per-step and
    per-fold ones (``staged_*``, ``fold_*``): the rows of a side-by-side comparison."""
    logged = {k for v in versions for k in v.metrics}
    return sorted(k for k in logged if not k.startswith(_PER_STEP_PREFIXES))


def lineage_kind(node: str) -> str:
    """What a node of :func:`lineage` is, from its text: ``"run"`` (``run 1a2b3c4d``),
    ``"model version"`` (``churn-classifier/3``) or ``"dataset version"`` (``churn@v2``,
    training data and predictions alike)."""
    if node.startswith("run "):
        return "run"
    return "model version" if "/" in node else "dataset version"


def lineage(ws: Workspace, name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Nodes and edges from training dataset versions through runs and model versions to
    the prediction dataset versions each model version made."""
    versions = list_versions(ws, name)
    edges: list[tuple[str, str]] = []
    for v in versions:
        run = f"run {v.run_id[:8]}"
        if v.dataset_ref:
            edges.append((v.dataset_ref, run))
        edges.append((run, v.ref))
    refs = {v.ref for v in versions}
    for dv in datasets.list_all_versions(ws):
        if dv.source == "prediction" and dv.tags.get("lineage.model") in refs:
            edges.append((dv.tags["lineage.model"], dv.ref))
    nodes = list(dict.fromkeys(n for edge in edges for n in edge))
    return nodes, edges


def registrable_runs(ws: Workspace, limit: int | None = None) -> list[tuple[str, str]]:
    """(run id, label) of finished runs that logged a model, newest first: every one, or
    the newest ``limit``."""
    if not _has_model_tag(ws):
        return []
    query = "status = 'finished' and tags.`model.sha256` IS NOT NULL"
    runs = experiments.search_runs(ws, query=query, limit=limit)
    return [(r.run_id, f"{r.name} · {r.started_at:%Y-%m-%d %H:%M} · {r.run_id[:8]}") for r in runs]


def _has_model_tag(ws: Workspace) -> bool:
    return "model.sha256" in experiments.known_keys(ws)["tags"]
