"""`workbench models ...`, `workbench predict` and `workbench serve`: the model registry from
the command line, batch scoring and the REST endpoint."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from workbench import files, network
from workbench.cli.terminal import print_frame
from workbench.store.errors import InvalidInput
from workbench.workspaces import open_workspace


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`workbench models ...`, `workbench predict` and `workbench serve`."""
    models = sub.add_parser("models", help="the model registry").add_subparsers(
        dest="models_command", required=True, metavar="SUBCOMMAND"
    )
    models.add_parser("list", help="models with their versions and aliases").set_defaults(
        func=cmd_models_list
    )
    versions = models.add_parser("versions", help="a model's versions")
    versions.add_argument("name")
    versions.set_defaults(func=cmd_models_versions)
    reg = models.add_parser("register", help="register a finished run's model as a new version")
    reg.add_argument("run_id")
    reg.add_argument("name", help="model name, e.g. churn-classifier")
    reg.set_defaults(func=cmd_models_register)
    alias = models.add_parser(
        "alias", help="point an alias (champion, challenger ...) at a version"
    )
    alias.add_argument("name")
    alias.add_argument("alias")
    alias.add_argument("version", type=int)
    alias.add_argument("--reason", default="", help="recorded in the alias history")
    alias.add_argument(
        "--override",
        action="store_true",
        help="admin only: move champion although the promotion gate was not "
        "passed (needs --reason; recorded in the audit log)",
    )
    alias.set_defaults(func=cmd_models_alias)
    promote = models.add_parser(
        "promote", help="move champion to the challenger through the promotion gate (admin)"
    )
    promote.add_argument("name")
    promote.add_argument(
        "--dataset",
        required=True,
        metavar="REF",
        help="labelled dataset version both are scored on, e.g. churn@v4",
    )
    promote.add_argument("--target", required=True, metavar="COLUMN", help="the label column")
    promote.add_argument(
        "--margin",
        type=float,
        default=0.0,
        help="how much better the challenger must be (default 0)",
    )
    promote.add_argument(
        "--override",
        action="store_true",
        help="promote although the gate refuses (needs --reason; every "
        "waived check goes into the audit log)",
    )
    promote.add_argument("--reason", default="", help="why the gate may be overridden")
    promote.set_defaults(func=cmd_models_promote)
    rollback = models.add_parser("rollback", help="move an alias back to its previous version")
    rollback.add_argument("name")
    rollback.add_argument("alias")
    rollback.set_defaults(func=cmd_models_rollback)
    cmp = models.add_parser(
        "compare",
        help="champion versus challenger on labelled data and "
        "the promotion gate's checks (nothing is moved)",
    )
    cmp.add_argument("name")
    cmp.add_argument(
        "--dataset",
        help="a labelled version (default: the newest one neither model was trained on)",
    )
    cmp.add_argument("--target", help="the label column (default: the one the champion learned)")
    cmp.set_defaults(func=cmd_models_compare)
    export = models.add_parser(
        "export", help="write a version as a folder (model, signature, card, requirements)"
    )
    export.add_argument("ref", help="e.g. churn-classifier@champion or churn-classifier/3")
    export.add_argument("target", help="a new or empty folder")
    export.set_defaults(func=cmd_models_export)
    pred = sub.add_parser(
        "predict", help="score a dataset version; the predictions become a new dataset version"
    )
    pred.add_argument("model", help="e.g. churn-classifier@champion")
    pred.add_argument("dataset", help="e.g. churn@v4")
    pred.add_argument(
        "--output", help="dataset name for the predictions (default <dataset>-scored)"
    )
    pred.set_defaults(func=cmd_predict)
    serve = sub.add_parser("serve", help="score JSON rows over HTTP on localhost")
    serve.add_argument("model", help="e.g. churn-classifier@champion (resolved per request)")
    serve.add_argument("--port", type=int, default=8600)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(func=cmd_serve)


def cmd_models_list(args: argparse.Namespace) -> int:
    """``workbench models list``: each model's latest version, aliases and author,
    as a table; 0."""
    from workbench.registry import models as registry

    models = registry.list_models(open_workspace(args.workspace))
    rows = [
        (
            m.name,
            m.latest_version,
            ", ".join(f"{a}=v{v}" for a, v in m.aliases.items()),
            m.created_by,
        )
        for m in models
    ]
    print_frame(pd.DataFrame(rows, columns=["model", "latest", "aliases", "created_by"]), "table")
    return 0


def cmd_models_versions(args: argparse.Namespace) -> int:
    """``workbench models versions NAME``: the model's versions with aliases,
    source run, training dataset, time and hash, as a table; 0. NotFound for an unknown
    model."""
    from workbench.registry import models as registry

    rows = [
        (v.ref, ", ".join(v.aliases), v.run_id[:12], v.dataset_ref, v.created_at, v.sha256[:12])
        for v in registry.list_versions(open_workspace(args.workspace), args.name)
    ]
    columns = ["version", "aliases", "run", "dataset", "created_at", "sha256"]
    print_frame(pd.DataFrame(rows, columns=columns), "table")
    return 0


def cmd_models_register(args: argparse.Namespace) -> int:
    """``workbench models register RUN_ID NAME``: register the run's model as
    the next version of NAME and print it; 0."""
    from workbench.registry import models as registry

    v = registry.register_model(open_workspace(args.workspace), args.run_id, args.name)
    print(f"registered {v.ref} from run {v.run_id} (sha256 {v.sha256[:12]})")
    return 0


def cmd_models_alias(args: argparse.Namespace) -> int:
    """``workbench models alias NAME ALIAS VERSION [--reason TEXT] [--override]``:
    point the alias at the version and print the move (with the version before); 0.
    PermissionDenied where the role does not allow it (champion needs an admin)."""
    from workbench.registry import models as registry

    before = registry.set_alias(
        open_workspace(args.workspace),
        args.name,
        args.alias,
        args.version,
        reason=args.reason,
        override=args.override,
    )
    was = f" (was v{before})" if before is not None else ""
    print(f"{args.name}@{args.alias} -> v{args.version}{was}")
    return 0


def cmd_models_promote(args: argparse.Namespace) -> int:
    """Print each check of the gate; exit 0 when champion moved, 1 when the gate refused."""
    from workbench.registry import promotion

    verdict = promotion.promote(
        open_workspace(args.workspace),
        args.name,
        args.dataset,
        args.target,
        config=promotion.GateConfig(margin=args.margin),
        override=args.override,
        reason=args.reason,
    )
    for name, ok, detail in verdict.checks:
        print(f"{'pass' if ok else 'FAIL'}  {name}: {detail}")
    if verdict.allowed:
        print(f"{args.name}@champion moved: the gate allows it.")
        return 0
    if verdict.overridden:
        print(f"{args.name}@champion moved by an override; the audit log lists the waived checks.")
        return 0
    print(
        f"error: the gate refuses; {args.name}@champion did not move. An admin may override "
        "with --override --reason TEXT.",
        file=sys.stderr,
    )
    return 1


def cmd_models_compare(args: argparse.Namespace) -> int:
    """Print the comparison and each gate check; exit 0 when the gate allows promotion, 3
    when it refuses (as ``drift report --fail-on-drift``), 1 on an error."""
    from workbench.registry import promotion, signature

    ws = open_workspace(args.workspace)
    if args.target is not None:  # an empty one is refused, not read as "the default"
        signature.require_label_name(args.target)
    choice = promotion.evaluation_choice(ws, args.name, target=args.target)
    dataset = args.dataset if args.dataset is not None else choice.default
    target = args.target if args.target is not None else choice.target
    if target is None:  # name only what is missing
        raise InvalidInput(
            f"Give --target{'' if args.dataset is not None else ' (and --dataset)'}: the "
            "models' label column is not recorded (no launch spec)."
        )
    if dataset is None:
        raise InvalidInput(choice.note or "Give --dataset: a labelled dataset version.")
    result = promotion.compare(ws, args.name, dataset, target)
    verdict = promotion.gate(result)
    notes = " ".join(filter(None, (result.data_note, result.label_note)))
    print(
        f"{result.champion} (champion) against {result.challenger} (challenger) on "
        f"{result.dataset}, {result.n_rows:,} labelled rows" + (f"; {notes}" if notes else "")
    )
    for name, ok, detail in verdict.checks:
        print(f"  {'ok    ' if ok else 'REFUSE'} {name}: {detail}")
    print("gate: " + ("promotion allowed" if verdict.allowed else "promotion refused"))
    return 0 if verdict.allowed else 3


def cmd_models_rollback(args: argparse.Namespace) -> int:
    """``workbench models rollback NAME ALIAS``: move the alias back to its
    previous version and print it; 0."""
    from workbench.registry import models as registry

    version = registry.rollback(open_workspace(args.workspace), args.name, args.alias)
    print(f"{args.name}@{args.alias} rolled back to v{version}")
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:
    """``workbench models export REF TARGET``: write the version as a folder
    (model, signature, card, requirements) into TARGET, new or empty, whose parent must
    exist; 0. InvalidInput for an empty TARGET, a file, or a missing parent folder."""
    from workbench.registry import models as registry

    target = files.given_path(args.target, "export folder")  # "" is not "." (the cwd)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} is a file; a model exports into a new or empty folder.")
    if not target.exists():
        files.check_output_path(target)  # its parent folder must exist (not created)
    out = registry.export_version(open_workspace(args.workspace), args.ref, target)
    print(f"wrote {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``workbench predict MODEL DATASET [--output NAME]``: score the dataset version
    with the model; the predictions become a new dataset version (default name
    ``<dataset>-scored``), and the outcome is printed; 0."""
    from workbench.registry import models as registry

    result = registry.score(
        open_workspace(args.workspace), args.model, args.dataset, output=args.output
    )
    print(result.message)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``workbench serve MODEL [--host H] [--port P]`` (default 127.0.0.1:8600): answer
    scoring requests over HTTP until stopped, behind a :class:`workbench.team.tokens.Gate`;
    announces the URL once the model loads, and warns on stderr when the address is
    reachable from other machines. 0 when stopped."""
    from workbench.registry import serving as serve
    from workbench.team import tokens
    from workbench.team.tokens import Gate

    ws = open_workspace(args.workspace)
    gate = Gate(ws, args.model)

    def announce() -> None:  # only once the model is known to load
        where = network.url(args.host, args.port, "/predict")
        print(f"Serving {args.model} on {where} (Ctrl-C stops)")
        if gate.required():
            none = "" if tokens.list_active(ws) else " None exists yet."
            print(
                f"Requests need a serving token ('Authorization: Bearer wbt_...').{none} "
                "`workbench tokens create NAME` makes one."
            )
        if not _loopback(args.host):
            if gate.required():
                risk = (
                    "requests need a token, but plain HTTP carries it in clear: put a "
                    "TLS proxy in front"
                )
            else:
                risk = (
                    "/predict asks for no credential: anyone who reaches this port can "
                    "score with the model (and read its predictions); create a serving "
                    "token (`workbench tokens create NAME`) to require one"
                )
            print(
                f"warning: {args.host} is reachable from other machines, and {risk} "
                "(docs/operations.md, 'Serving a model').",
                file=sys.stderr,
            )
        sys.stdout.flush()

    serve.serve(ws, args.model, args.host, args.port, announce=announce, gate=gate)
    return 0


def _loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only listens on this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # another host name: it may resolve beyond this machine
        return False
