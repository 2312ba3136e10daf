"""The command-line steps at one size, each in its own process, as a user runs them.

    .venv/bin/python benchmarks/bench_cli.py --size S --url sqlite:////tmp/b.db [--runs 3]
    .venv/bin/python benchmarks/bench_cli.py --helpers 12 --weeks 8 --url ...

Steps: ``python -m burnout demo`` (writing the files), ``import`` of the three
files into an empty database, the same import again (unchanged files),
``rebuild`` when this version has it, ``risk`` and ``turnover``.  The import
leaves its database behind for the page and peer benchmarks.  Wall and CPU
seconds and peak RSS come from the kernel's accounting of each child process
(``os.wait4``); steps that do not change the data are repeated ``--runs`` times
and their medians reported.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import PYTHON, ROOT, SIZES, emit, run_measured  # noqa: E402


def cli(*args: str, url: str) -> dict:
    r = run_measured([PYTHON, "-m", "burnout", *args], env={"BURNOUT_DATABASE_URL": url, "BURNOUT_DEMO": "0"})
    if r["rc"]:
        raise SystemExit(f"burnout {args[0]} failed ({r['rc']}): {r['stderr'][-3000:]}")
    return r


def has_command(name: str) -> bool:
    """Whether this version's CLI has ``name`` (``rebuild`` arrives with issue #12)."""
    sys.path.insert(0, str(ROOT))
    from burnout.cli import build_parser

    return any(isinstance(act, argparse._SubParsersAction) and name in act.choices
               for act in build_parser()._actions)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES))
    ap.add_argument("--helpers", type=int)
    ap.add_argument("--weeks", type=int)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--url", required=True, help="an empty database to import into")
    ap.add_argument("--runs", type=int, default=3, help="repeats of the steps that do not change data")
    a = ap.parse_args()
    helpers, weeks = SIZES[a.size] if a.size else (a.helpers, a.weeks)

    out = Path(tempfile.mkdtemp(prefix="bench_cli."))
    r = cli("demo", "--out", str(out), "--helpers", str(helpers), "--weeks", str(weeks), "--seed", str(a.seed),
            url=a.url)
    emit("demo", [r], dir=str(out), note=f"{sum(p.stat().st_size for p in out.iterdir()) / 2**20:,.0f} MiB of CSV")
    files = ["--roster", str(out / "roster.csv"), "--surveys", str(out / "surveys.csv"),
             "--caseload", str(out / "caseload.csv")]
    emit("import", [cli("import", *files, url=a.url)])
    emit("reimport", [cli("import", *files, url=a.url)])
    if has_command("rebuild"):
        emit("rebuild", [cli("rebuild", url=a.url) for _ in range(a.runs)])
    else:
        emit("rebuild", [], na="no `rebuild` command in this version")
    risk_out = out / "risk.csv"
    emit("risk", [cli("risk", "--output", str(risk_out), "--as", "benchmark", "--reason", "benchmark", url=a.url)
                  for _ in range(a.runs)])
    emit("turnover", [cli("turnover", "--helpers", str(helpers), "--burnout-rate", "0.45", "--turnover-rate",
                          "0.2", "--cost-per-departure", "60000", url=a.url) for _ in range(a.runs)])


if __name__ == "__main__":
    main()
