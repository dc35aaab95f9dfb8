"""`workbench drift ...` and `workbench monitors ...`: drift reports and monitoring from the
command line (a CI job can fail on drift with --fail-on-drift)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench import files
from workbench.cli.terminal import say
from workbench.listing import check_limit
from workbench.workspaces import open_workspace

if TYPE_CHECKING:  # scipy and plotly load only when a drift command runs (a quick CLI)
    from workbench.drift.results import ColumnDrift

EXIT_DRIFT = 3  # --fail-on-drift: 0 fine, 1 an error, 3 drift found


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``drift`` (report, files, rule, list) and ``monitors`` (set, list) command groups
    to the root parser's subparsers ``sub``; each subcommand's handler is set as its ``func``
    default."""
    dr = sub.add_parser("drift", help="drift reports").add_subparsers(
        dest="drift_command", required=True, metavar="SUBCOMMAND"
    )
    report = dr.add_parser(
        "report",
        help="compare a dataset version with a reference (and "
        "score both with a model); the report is stored",
    )
    report.add_argument("current", help="the new version, e.g. churn@v4")
    report.add_argument(
        "--reference",
        help="e.g. churn@v1 (default with --model: the version the model was trained on)",
    )
    report.add_argument(
        "--model",
        help="a model version or alias, e.g. churn-clf@champion: "
        "prediction drift, and performance drift where there are labels",
    )
    report.add_argument("--target", help="the label column (default: the one the model learned)")
    _rule_argument(report)
    report.add_argument("--html", metavar="PATH", help="also write the report as one HTML file")
    report.add_argument("--force", action="store_true", help="replace an existing --html file")
    report.add_argument(
        "--fail-on-drift",
        action="store_true",
        help=f"exit {EXIT_DRIFT} when the data drifts, a column is removed or the model degrades",
    )
    report.set_defaults(func=cmd_drift_report)
    files = dr.add_parser(
        "files",
        help="compare two CSV or Parquet files without registering them (nothing is stored)",
    )
    files.add_argument("reference")
    files.add_argument("current")
    files.add_argument(
        "--encoding", default="utf-8", help="the CSV files' encoding (default utf-8; e.g. cp1252)"
    )
    _rule_argument(files)
    files.add_argument(
        "--fail-on-drift",
        action="store_true",
        help=f"exit {EXIT_DRIFT} when the data drifts or a column is removed",
    )
    files.set_defaults(func=cmd_drift_files)
    rule = dr.add_parser(
        "rule",
        help="how a column's and a dataset's verdict is reached (today's rule, or the one "
        "a stored report ran with)",
    )
    rule.add_argument(
        "--report",
        metavar="ID",
        help="a stored report's id (as `workbench drift list` shows it, or its start): the "
        "rule it ran with",
    )
    rule.set_defaults(func=cmd_drift_rule)
    ls = dr.add_parser("list", help="stored reports, newest first")
    shown = ls.add_mutually_exclusive_group()
    shown.add_argument(
        "--limit",
        type=int,
        default=20,
        metavar="N",
        help="at most N reports (default 20); stderr says when there are more",
    )
    shown.add_argument("--all", action="store_true", help="every stored report")
    ls.set_defaults(func=cmd_drift_list)

    mon = sub.add_parser("monitors", help="monitoring rules per model").add_subparsers(
        dest="monitors_command", required=True, metavar="SUBCOMMAND"
    )
    put = mon.add_parser(
        "set",
        help="watch a dataset for a model: new versions run the drift "
        "check, and a firing rule retrains a challenger",
    )
    put.add_argument("model", help="a registered model with a champion")
    put.add_argument("--dataset", required=True, help="the dataset whose new versions to check")
    put.add_argument("--target", required=True, help="the label column")
    put.add_argument(
        "--drift-share",
        type=float,
        default=0.25,
        help="fire when this share of columns drifts (default 0.25)",
    )
    put.add_argument(
        "--max-performance-drop",
        type=float,
        metavar="SHARE",
        help="fire when the metric drops by more than this share of the "
        "reference score, e.g. 0.05 (needs labels)",
    )
    put.add_argument(
        "--auto-promote", action="store_true", help="promote the challenger when the gate allows it"
    )
    put.set_defaults(func=cmd_monitors_set)
    mon.add_parser("list", help="monitors and their last check").set_defaults(
        func=cmd_monitors_list
    )


def _rule_argument(parser: argparse.ArgumentParser) -> None:
    from workbench.drift.methods import names  # light: no scipy

    parser.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="COLUMN=METHOD[:THRESHOLD]",
        help="a column's own method and threshold, e.g. income=psi:0.2 or "
        f"customer_id=ignore (repeatable). Methods: numbers {', '.join(names('numeric'))}; "
        f"categories {', '.join(names('categorical'))}",
    )


def cmd_drift_report(args: argparse.Namespace) -> int:
    """``workbench drift report CURRENT [--reference REF] [--model M] [--target T] [--rule
    COL=METHOD[:THRESHOLD]] [--html PATH [--force]] [--fail-on-drift]``: run and store a drift
    report (``workbench.drift.report.run_report``), print the verdict, one line per column, the
    model section when ``--model`` is given, and optionally write the HTML export (the path is
    checked before the report is stored). Returns the exit code: 0, or ``EXIT_DRIFT`` (3) with
    ``--fail-on-drift`` when the data drifts, a column was removed or the model's performance
    degraded. A WorkbenchError propagates (``workbench.cli.main`` prints it in one line, exit 1)."""
    from workbench.drift import report as reports
    from workbench.drift.config import parse_rules

    ws = open_workspace(args.workspace)
    if args.html is not None:  # before the report is stored: a bad path changes nothing
        html = files.given_path(args.html, "--html file")
        files.refuse_inside(ws.root, files.check_output_path(html, overwrite=args.force), "export")
    report = reports.run_report(
        ws,
        args.reference,
        args.current,
        model=args.model,
        target=args.target,
        overrides=parse_rules(args.rule),
    )
    say(
        f"{report.verdict}: {report.current_ref} against {report.reference_ref}, "
        f"{reports.summary(report.n_drifted, report.n_columns)} (report "
        f"{report.report_id})"
    )
    _print_columns(report.results)
    section = reports.model_section(report)
    degraded = False
    if section is not None:
        say(f"model {section.model_ref}: {section.verdict}")
        for p in section.predictions:
            say(_column_line(p))
        if section.performance is not None:
            say(f"  performance {section.performance.verdict}: {section.performance.sentence}")
            degraded = section.performance.verdict == "degraded"
        if section.note:
            say(f"  note: {section.note}")
        if (label := report.label) is not None:
            say(
                f"  label {label.column} (apart from the features): {label.verdict}: "
                f"{label.sentence}"
            )
    if args.html is not None:
        out = reports.export_html(ws, report.report_id, Path(args.html), overwrite=args.force)
        say(f"wrote {out}")
    return _gate(args, reports.gate_failures(report.verdict, report.results, degraded))


def cmd_drift_files(args: argparse.Namespace) -> int:
    """``workbench drift files REFERENCE CURRENT [--encoding ENC] [--rule ...]
    [--fail-on-drift]``: compare two CSV or Parquet files without registering or storing
    anything, and print the verdict and one line per column. Returns 0, or ``EXIT_DRIFT`` (3)
    with ``--fail-on-drift`` when the data drifts or a column was removed. A WorkbenchError
    propagates (``workbench.cli.main`` prints it in one line, exit 1)."""
    from workbench.drift import report as reports
    from workbench.drift.config import parse_rules

    results = reports.compare_files(
        args.reference, args.current, parse_rules(args.rule), encoding=args.encoding
    )
    verdict, drifted, compared = reports.dataset_verdict(results)
    say(
        f"{verdict}: {args.current} against {args.reference}, "
        f"{reports.summary(len(drifted), len(compared))} (not stored)"
    )
    _print_columns(results)
    return _gate(args, reports.gate_failures(verdict, results))


def _gate(args: argparse.Namespace, reasons: list[str]) -> int:
    """EXIT_DRIFT, saying why, when --fail-on-drift is given and ``reasons`` is not empty."""
    if not (args.fail_on_drift and reasons):
        return 0
    say(f"--fail-on-drift: exit {EXIT_DRIFT}: {'; '.join(reasons)}")
    return EXIT_DRIFT


def cmd_drift_rule(args: argparse.Namespace) -> int:
    """Print the drift rule: today's (``DriftConfig().rule()``), or with ``--report`` the
    one that report ran with, rendered from its stored configuration (the text the page
    and the export show)."""
    from workbench.drift.config import DEFAULT

    config, note = DEFAULT, ""
    if args.report is not None:
        report = _report(args)
        config, note = report.config, report.rule_note
    if note:
        print(note)
    print(textwrap.fill(config.rule(), 88, break_on_hyphens=False))
    return 0


def _report(args: argparse.Namespace):
    """The stored report ``args.report`` names: its id or a prefix of it that only it has
    (``workbench drift list`` prints 12 characters). NotFound / InvalidInput otherwise."""
    from workbench.drift import report as reports
    from workbench.store.errors import InvalidInput, NotFound

    ws = open_workspace(args.workspace)
    wanted = args.report.strip()
    try:
        return reports.get_report(ws, wanted)
    except NotFound:
        found = [r for r in reports.list_reports(ws) if r.report_id.startswith(wanted)]
        if len(found) == 1 and wanted:
            return found[0]
        if len(found) > 1 and wanted:
            raise InvalidInput(
                f"Report id {wanted!r} starts {len(found)} reports; give more of it."
            ) from None
        raise


def cmd_drift_list(args: argparse.Namespace) -> int:
    """``workbench drift list [--limit N | --all]``: the stored reports, newest first, one line
    each (time, 12-character id, verdict, drifted/compared columns, versions, model); ``(none)``
    when none is stored; stderr says when ``--limit`` (default 20) left some out. Returns 0.
    Raises InvalidInput for a negative limit. A WorkbenchError propagates (``workbench.cli.main``
    prints it in one line, exit 1)."""
    from workbench.drift import report as reports

    shown = reports.reports_listing(
        open_workspace(args.workspace), None if args.all else check_limit(args.limit)
    )
    if not shown.items and not shown.cut:  # none stored (--limit 0 shows none of some)
        print("(none)")
    for r in shown.items:
        model = f"  model {r.model_ref}" if r.model_ref else ""
        print(
            f"{r.created_at:%Y-%m-%d %H:%M}  {r.report_id[:12]}  {r.verdict:<20} "
            f"{r.n_drifted}/{r.n_columns}  {r.current_ref} vs {r.reference_ref}{model}"
        )
    if shown.cut:  # on stderr, so the list on stdout stays clean
        print(
            f"{shown.note('reports')}; --limit N shows more, --all shows every one", file=sys.stderr
        )
    return 0


def cmd_monitors_set(args: argparse.Namespace) -> int:
    """``workbench monitors set MODEL --dataset D --target T [--drift-share S]
    [--max-performance-drop SHARE] [--auto-promote]``: create or replace the model's monitor
    (``workbench.drift.monitoring.set_monitor``) and print its rules. Returns 0. Raises NotFound
    (no champion), InvalidInput (a share out of range), PermissionDenied. A WorkbenchError
    propagates (``workbench.cli.main`` prints it in one line, exit 1)."""
    from workbench.drift import monitoring

    m = monitoring.set_monitor(
        open_workspace(args.workspace),
        args.model,
        args.dataset,
        args.target,
        drift_share=args.drift_share,
        max_performance_drop=args.max_performance_drop,
        auto_promote=args.auto_promote,
    )
    drop = (
        f", performance drop above {m.max_performance_drop:.0%}" if m.max_performance_drop else ""
    )
    print(
        f"monitoring {m.model} on new versions of {m.dataset}: drift share "
        f"{m.drift_share:.0%}{drop}; auto-promote {'on' if m.auto_promote else 'off'}"
    )
    return 0


def cmd_monitors_list(args: argparse.Namespace) -> int:
    """``workbench monitors list``: one line per monitor (model, dataset, label column and its
    status badge, ``workbench.drift.monitoring.status``), ``(none)`` when there is none. Returns
    0. A WorkbenchError propagates (``workbench.cli.main`` prints it in one line, exit 1)."""
    from workbench.drift import monitoring

    ws = open_workspace(args.workspace)
    found = monitoring.monitors(ws)
    if not found:
        print("(none)")
    for m in found:
        print(
            f"{m.model:<20} on {m.dataset:<16} label {m.target:<12} "
            f"status: {monitoring.status(ws, m.model)}"
        )
    return 0


def _print_columns(results: Sequence[ColumnDrift]) -> None:
    """One line per column (:func:`_column_line`), then where the rule is explained."""
    for r in results:
        say(_column_line(r))
    print("How a verdict is reached: workbench drift rule")


def _column_line(r: ColumnDrift) -> str:
    """A column's line: verdict, effect, smallest p-value (``drift.format_p``; "-" when no
    test ran), what changed. A column that was not tested (``ColumnDrift.tested``: an
    identifier-like or ignored column) shows "-" for both (ASCII, as every CLI line), not
    numbers that read as "no drift"."""
    from workbench.drift import stats as drift

    effect = "-" if r.shown_effect is None else f"{r.shown_effect:.4f}"
    p = drift.format_p(r.shown_p_value) or "-"
    return f"  {r.shown_column:<22} {r.verdict:<20} {effect:>8}  p {p:<8}  {r.sentence}"
