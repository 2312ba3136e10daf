"""Run every benchmark and write the results table into README.md.

    .venv/bin/python benchmarks/run_all.py [--helpers 5000] [--weeks 104] [--no-readme]

The default size is a large health system: 5,000 helpers with two years of
weekly check-ins, caseload rows and periodic ProQOL / CBI (about 7 M item
answers).  Each benchmark runs in its own process so peak memory is its own;
the import leaves its database behind for the page timings, so pages are
measured on data that went through the real import path.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def run(script: str, *args: str) -> list[str]:
    cmd = [sys.executable, str(BENCH / script), *args]
    print("$", " ".join(cmd[1:]), flush=True)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    sys.stdout.write(proc.stdout)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{script} failed with exit code {proc.returncode}")
    print(f"  ({time.perf_counter() - t:.0f} s)", flush=True)
    return [ln[4:].strip() for ln in proc.stdout.splitlines()
            if ln.startswith("ROW|") and "build frames" not in ln]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--helpers", type=int, default=5000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--no-readme", action="store_true", help="print the table only")
    a = ap.parse_args()
    size = ["--helpers", str(a.helpers), "--weeks", str(a.weeks)]
    db = Path(tempfile.mkdtemp(prefix="bench_all.")) / "bench.db"
    url = f"sqlite:///{db}"

    rows = run("bench_scoring.py", "--rows", "1000000")
    rows += run("bench_scoring.py", "--rows", "1000000", "--labels")
    rows += run("bench_import.py", *size, "--url", url)
    rows += run("bench_risk.py", *size)
    rows += run("bench_pages.py", "--url", url)
    rows += run("bench_writes.py", "--engine", "both")

    cpu = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    table = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/run_all.py` on {cpu} cores, "
        f"{mem:.0f} GiB, Python {platform.python_version()}, embedded SQLite.",
        "",
        "| benchmark | size | result |",
        "|---|---|---|",
        *[f"| {r} |" if not r.endswith("|") else f"| {r}" for r in rows],
    ])
    print("\n" + table)
    if a.no_readme:
        return
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"{START}\n{table}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)
    print(f"README.md updated ({len(rows)} rows)")


if __name__ == "__main__":
    main()
