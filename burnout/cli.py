"""One CLI over the same core the dashboard uses (DESIGN §5).

Exit codes: 0 success, 2 invalid input (message names file, row and column) or a
database that cannot be used (one line naming it, password hidden).
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from burnout import auth, ingest, materialise, release_store
from burnout.demo import write_demo
from burnout.domain.time import parse_day
from burnout.errors import InputError
from burnout.export.csv import write_csv
from burnout.export.pdf import to_pdf
from burnout.export.xlsx import to_xlsx
from burnout.instruments import INSTRUMENTS, load_wording_file
from burnout.scoring import score_csv
from burnout.store import database_url, get_engine
from burnout.store.retry import describe_failure
from burnout.store.writes import audit_each, save_wording
from burnout.turnover import shanafelt
from burnout.uncertainty import format_range, shanafelt_ranges
from burnout.store.notes import action_notes
from burnout.views.data import load_data, load_review_data
from burnout.views.review import build_review
from burnout.views.team import action_plan, follow_up
from burnout.views.risk_table import risk_report
from burnout.views import weights as risk_weights


def _cmd_demo(a) -> int:

    if a.helpers < 1 or a.weeks < 1:
        raise InputError(f"--helpers and --weeks must be at least 1 (got {a.helpers} and {a.weeks})")
    try:
        paths = write_demo(Path(a.out), helpers=a.helpers, weeks=a.weeks, seed=a.seed)
    except OSError as exc:
        raise InputError(f"cannot write the demo files there ({exc.strerror or exc})", file=a.out) from exc
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _cmd_import(a) -> int:

    if not (a.roster or a.surveys or a.caseload):
        print("error: give at least one of --roster, --surveys, --caseload", file=sys.stderr)
        return 2
    if a.mapping and not a.surveys:
        # refused rather than ignored: a mapping given by mistake should not pass silently
        print("error: --mapping is for a form-tool survey export; give it with --surveys", file=sys.stderr)
        return 2
    if a.roster_mapping and not a.roster:
        print("error: --roster-mapping is for a roster file; give it with --roster", file=sys.stderr)
        return 2
    engine = get_engine()
    show = ingest.terminal_progress(sys.stderr)
    summary = ingest.import_files(engine, roster=a.roster, surveys=a.surveys,
                                  caseload=a.caseload, mapping=a.mapping,
                                  roster_mapping=a.roster_mapping, sheet=a.sheet, progress=show)
    # done when the data arrive, so that no lead's first open pays for it
    release_store.prepare(engine, progress=(lambda text: show(1.0, text)) if show else None)
    print(summary.describe())
    return 0


def _cmd_score(a) -> int:

    n = score_csv(a.instrument, Path(a.input), Path(a.output),
                  warn=lambda text: print(f"note: {text}", file=sys.stderr))
    print(f"scored {n:,} rows -> {a.output}")
    return 0


def _cmd_turnover(a) -> int:

    # DESIGN §5: [--target-burnout-rate BO2 --intervention-cost K] is a pair
    if (a.target_burnout_rate is None) != (a.intervention_cost is None):
        given, missing = (("--target-burnout-rate", "--intervention-cost") if a.intervention_cost is None
                          else ("--intervention-cost", "--target-burnout-rate"))
        raise InputError(f"{given} needs {missing} as well: savings and return on investment come from "
                         "the target burnout rate and the intervention's annual cost together")
    if a.intervention_cost is not None and not a.intervention_cost > 0:
        raise InputError(f"--intervention-cost must be more than 0 (got {a.intervention_cost:g}): the return on "
                         "investment is (savings - cost) / cost")
    result = shanafelt(
        helpers=a.helpers, burnout_rate=a.burnout_rate, turnover_rate=a.turnover_rate,
        cost_per_departure=a.cost_per_departure, relative_risk=a.relative_risk,
        target_burnout_rate=a.target_burnout_rate, intervention_cost=a.intervention_cost,
    )
    # The documented keys keep their central values; each burnout-dependent
    # figure adds _low/_high at the ends of the relative-risk range (§7: 1.5-2.7).
    lo, hi = a.relative_risk_range if a.relative_risk_range else (1.5, 2.7)
    if not (1.0 <= lo <= hi):
        raise InputError(f"--relative-risk-range needs 1 <= LOW <= HIGH (got {lo:g} {hi:g})")
    result.update(shanafelt_ranges(
        helpers=a.helpers, burnout_rate=a.burnout_rate, turnover_rate=a.turnover_rate,
        cost_per_departure=a.cost_per_departure, relative_risk=a.relative_risk,
        target_burnout_rate=a.target_burnout_rate, intervention_cost=a.intervention_cost,
        relative_risk_range=(lo, hi)))
    # 12 significant digits hide binary noise (0.049999999999999996 -> 0.05)
    print(json.dumps({k: float(f"{v:.12g}") if isinstance(v, float) else v for k, v in result.items()},
                     indent=2))
    cost = format_range(result["attributable_cost"], result["attributable_cost_low"],
                        result["attributable_cost_high"], money=True)
    leavers = format_range(result["attributable_leavers"], result["attributable_leavers_low"],
                           result["attributable_leavers_high"])
    print(f"Leavers due to burnout a year: {leavers}; cost due to burnout a year: {cost} (relative risk "
          f"{result['relative_risk_low']:g}-{result['relative_risk_high']:g})", file=sys.stderr)
    return 0


def _cmd_risk(a) -> int:

    as_of = parse_day(a.as_of)            # InputError (exit 2) for '', 2026-13-45, not-a-date
    engine = get_engine()
    table, model = risk_report(engine, as_of=as_of, details=True)
    # one helper per row: individuals are read only on the record, before the file exists
    record_individual_export(engine, table["helper_id"], actor=a.as_user, reason=a.reason, what="risk")
    write_csv(table, a.output)
    # which model gave p_leave_12m, and why (stdout stays the one-line summary)
    for line in model.describe():
        print(line, file=sys.stderr)
    for line in getattr(table, "attrs", {}).get("summary", []):
        print(line, file=sys.stderr)
    unscored = int(table["risk_score"].isna().sum())
    if unscored:
        print(f"{unscored:,} active helper{'s have' if unscored != 1 else ' has'} no risk score: no answers "
              "in the recent weeks (workload drivers are still listed).", file=sys.stderr)
    print(f"{len(table):,} active helpers -> {a.output}")
    return 0


CLI_EXPORT = "cli_individual_export"


def record_individual_export(engine, helper_ids, *, actor: str | None, reason: str | None, what: str) -> str:
    """Audit rows for a command that writes one row per helper: one row per helper
    (so each helper's own-data export lists it) with the actor — ``--as`` or the
    operating-system user — and the reason given."""
    name = (actor or "").strip() or getpass.getuser()
    detail = f"{what} export from the command line" + (f" ({reason.strip()})" if reason and reason.strip() else "")
    with engine.begin() as conn:
        audit_each(conn, name, CLI_EXPORT, sorted({str(h) for h in helper_ids}), detail=detail[:500])
    return name


def write_report(engine, scope: str = "org", fmt: str = "pdf", out: Path | str = "report.pdf",
                 settings_override=None) -> Path:
    """The ``report`` command: build the HR review for ``scope`` and write it as ``fmt``."""
    fmt = (fmt or "").lower()
    if fmt not in ("pdf", "xlsx"):
        raise InputError(f"format must be pdf or xlsx, got {fmt!r}", column="format")
    data = load_review_data(engine)
    review = build_review(engine, scope, settings_override, data=data)
    # a team's workbook carries its action plan; the strain before and after comes from the
    # report's own weekly team means (already through the release gate)
    actions = None
    if review.team is not None and fmt == "xlsx":
        notes = action_notes(engine, review.team)
        # the caseload ratio is operational: the team's own frames (the review's read has no caseload)
        actions = action_plan(notes, follow_up(load_data(engine, team=review.team), review.team, review.trend, notes))
    payload = to_pdf(review) if fmt == "pdf" else to_xlsx(review, actions=actions)
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(payload)
    return out


def _cmd_report(a) -> int:

    write_report(get_engine(), scope=a.scope, fmt=a.format, out=Path(a.out))
    print(f"report -> {a.out}")
    return 0


def _cmd_wording(a) -> int:

    items, credit = load_wording_file(a.instrument, Path(a.file))
    save_wording(get_engine(), a.instrument, items)
    print(f"loaded wording for {len(items)} {a.instrument} items")
    if credit:
        print(credit)
    return 0


def _cmd_rebuild(a) -> int:
    engine = get_engine()
    n = materialise.rebuild(engine)
    release_store.prepare(engine)
    print(f"helper weeks rebuilt: {n:,} rows")
    return 0


def _cmd_fit_weights(a) -> int:
    engine, actor = get_engine(), (a.as_user or "").strip() or getpass.getuser()
    if a.national:
        risk_weights.revert(engine, actor)
        print("Risk score weights: from national defaults (saved).")
        return 0
    fitted = risk_weights.fit(engine)
    print(fitted.reason)
    if fitted.auc_text():
        print(fitted.auc_text())
    for name, w in fitted.weights.items():
        print(f"  {name}: {float(w):.3f}")
    if fitted.fitted and not a.dry_run:
        risk_weights.save_fitted(engine, fitted, actor)
        print(f"Risk score weights: {fitted.used} (saved; the stored risk is recomputed on the next read).")
    else:
        print("Nothing saved.")
    return 0


def _cmd_user(a) -> int:


    auth.normalise_username(a.username)            # a refused name fails before any prompt
    password = os.environ.get("BURNOUT_PASSWORD") or None
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password (at least 12 characters, or leave empty for an invite link): ")
        if password:
            if getpass.getpass("Same password again: ") != password:
                raise InputError("the two passwords differ", column="password")
        else:
            password = None
    engine = get_engine()
    auth.create_user(engine, a.username, password, a.role, helper_id=a.helper_id, team=a.team, actor="cli")
    if password is not None:
        print(f"user {a.username} ({a.role}) created")
        return 0
    # No password given (no BURNOUT_PASSWORD, no terminal to ask on): the person sets
    # their own through a one-time link, so nobody else ever knows it.
    token = auth.create_invite(engine, a.username, actor="cli")
    hours = auth.setting(engine, "invite_hours")
    print(f"user {a.username} ({a.role}) created; one-time invite link, valid {hours} hours: "
          f"{auth.invite_link(token)}")
    return 0


def _fraction(text: str) -> float:
    """Accept 0.5 or 50% for a rate (finite, between 0 and 1)."""
    text = text.strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a rate such as 0.3 or 30%") from None
    if not 0 <= value <= 1:   # also false for nan, inf and 1e400
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate between 0 and 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m burnout",
                                description="Burnout and compassion-fatigue monitor for helping teams.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("demo", help="write a synthetic demo organisation as import files")
    s.add_argument("--out", required=True, help="folder for roster.csv, surveys.csv, caseload.csv")
    s.add_argument("--helpers", type=int, default=60)
    s.add_argument("--weeks", type=int, default=52)
    s.add_argument("--seed", type=int, default=7)
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("import", help="import roster, surveys and caseload files (CSV or XLSX)")
    s.add_argument("--roster")
    s.add_argument("--surveys")
    s.add_argument("--caseload")
    s.add_argument("--mapping", help="mapping file for form-tool survey exports (YAML or CSV)")
    s.add_argument("--roster-mapping", help="mapping file for a roster exported with other column names")
    s.add_argument("--sheet", help="the sheet to read from XLSX workbooks with several sheets")
    s.set_defaults(func=_cmd_import)

    s = sub.add_parser("score", help="score an answers file")
    s.add_argument("--instrument", required=True, choices=list(INSTRUMENTS))
    s.add_argument("--input", required=True)
    s.add_argument("--output", required=True)
    s.set_defaults(func=_cmd_score)

    s = sub.add_parser("turnover", help="burnout-attributable turnover and intervention ROI (Shanafelt 2017)")
    s.add_argument("--helpers", type=float, required=True)
    s.add_argument("--burnout-rate", type=_fraction, required=True)
    s.add_argument("--turnover-rate", type=_fraction, required=True)
    s.add_argument("--cost-per-departure", type=float, required=True)
    s.add_argument("--relative-risk", type=float, default=2.0)
    s.add_argument("--relative-risk-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="range behind the _low/_high keys (default 1.5 2.7, turnover-models.md §7)")
    s.add_argument("--target-burnout-rate", type=_fraction,
                   help="burnout rate after an intervention; give it with --intervention-cost")
    s.add_argument("--intervention-cost", type=float,
                   help="the intervention's annual cost (> 0); give it with --target-burnout-rate")
    s.set_defaults(func=_cmd_turnover)

    s = sub.add_parser("risk", help="burnout risk, leaving probability and cost per active helper")
    s.add_argument("--as-of", help="ISO date YYYY-MM-DD (default: the latest week with data)")
    s.add_argument("--output", required=True)
    s.add_argument("--as", dest="as_user", help="who is exporting, for the audit log (default: the OS user)")
    s.add_argument("--reason", help="why, for the audit log (each helper can read it in their own data)")
    s.set_defaults(func=_cmd_risk)

    s = sub.add_parser("report", help="HR review as PDF or XLSX, with privacy suppression")
    s.add_argument("--scope", default="org", help="org or team:ID")
    s.add_argument("--format", choices=["pdf", "xlsx"], required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("wording", help="load official item wording for a licensed instrument")
    s.add_argument("--instrument", required=True, choices=list(INSTRUMENTS))
    s.add_argument("--file", required=True, help="CSV (item_id,text) or YAML mapping item id -> text")
    s.set_defaults(func=_cmd_wording)

    s = sub.add_parser("create-user", help="create a login (password from BURNOUT_PASSWORD or a prompt; else a one-time invite link)")
    s.add_argument("--username", required=True)
    s.add_argument("--role", required=True, choices=["helper", "lead", "hr", "admin"])
    s.add_argument("--helper-id")
    s.add_argument("--team")
    s.set_defaults(func=_cmd_user)

    s = sub.add_parser("fit-weights", help="fit the risk score's weights on the organisation's own leavers "
                                           "(at least 20) and save them as its own")
    s.add_argument("--dry-run", action="store_true", help="show the fit, save nothing")
    s.add_argument("--national", action="store_true", help="go back to the national weights")
    s.add_argument("--as", dest="as_user", help="who changes the setting, for the audit log (default: the OS user)")
    s.set_defaults(func=_cmd_fit_weights)

    s = sub.add_parser("rebuild", help="recompute the stored risk of every helper and week (pages read it)")
    s.set_defaults(func=_cmd_rebuild)
    return p


def main(argv: list[str] | None = None) -> int:

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DBAPIError, PoolTimeout) as exc:
        print(f"error: cannot use the database at {shown_url()} ({describe_failure(exc)}); "
              "check BURNOUT_DATABASE_URL and that the database is running and writable", file=sys.stderr)
        return 2


def shown_url() -> str:
    """The database URL as it may be printed: the password hidden."""
    try:
        return make_url(database_url()).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is itself the problem worth showing
        return "BURNOUT_DATABASE_URL (not a valid URL)"
