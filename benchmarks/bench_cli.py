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
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import PYTHON, ROOT, SIZES, cap_at_deadline, emit, run_measured  # noqa: E402


class DidNotFinish(Exception):
    pass


def cli(*args: str, url: str, timeout: float | None = -1) -> dict:
    r = run_measured([PYTHON, "-m", "burnout", *args], env={"BURNOUT_DATABASE_URL": url, "BURNOUT_DEMO": "0"},
                     timeout=timeout)
    if r["timed_out"]:
        raise DidNotFinish(r["wall"])
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
    ap.add_argument("--demo-dir", type=Path, help="write the demo files here, or reuse them if they exist")
    a = ap.parse_args()
    helpers, weeks = SIZES[a.size] if a.size else (a.helpers, a.weeks)

    def step(key: str, *args: str, runs: int = 1, **extra) -> None:
        try:
            # Everything else waits for the first import, so it may take longer (BENCH_IMPORT_TIMEOUT).
            limit = cap_at_deadline(float(os.environ.get("BENCH_IMPORT_TIMEOUT") or 0) or None) or -1 \
                if key == "import" else -1
            emit(key, [cli(*args, url=a.url, timeout=limit) for _ in range(runs)], **extra)
        except DidNotFinish as dnf:
            emit(key, [], dnf=round(dnf.args[0]))
            if key in ("demo", "import"):   # nothing after it has its data
                raise SystemExit(f"{key} did not finish in the step time limit")

    # Demo files written by an earlier run of the same size and seed can be reused
    # (--demo-dir): at L they take minutes, and the SQLite and PostgreSQL runs import the same.
    out = a.demo_dir or Path(tempfile.mkdtemp(prefix="bench_cli."))
    names = ("roster", "surveys", "caseload")
    if a.demo_dir and all((out / f"{n}.csv").exists() for n in names):
        emit("demo", [], dir=str(out), na="files reused from an earlier run")
    else:
        out.mkdir(parents=True, exist_ok=True)
        step("demo", "demo", "--out", str(out), "--helpers", str(helpers), "--weeks", str(weeks), "--seed",
             str(a.seed), dir=str(out))
    files = [arg for n in names for arg in (f"--{n}", str(out / f"{n}.csv"))]

    step("import", "import", *files)
    step("reimport", "import", *files)
    if has_command("rebuild"):
        step("rebuild", "rebuild", runs=a.runs)
    else:
        emit("rebuild", [], na="no `rebuild` command in this version")
    risk_out = Path(tempfile.mkdtemp(prefix="bench_risk.")) / "risk.csv"
    step("risk", "risk", "--output", str(risk_out), "--as", "benchmark", "--reason", "benchmark", runs=a.runs)
    step("turnover", "turnover", "--helpers", str(helpers), "--burnout-rate", "0.45", "--turnover-rate", "0.2",
         "--cost-per-departure", "60000", runs=a.runs)


if __name__ == "__main__":
    main()
