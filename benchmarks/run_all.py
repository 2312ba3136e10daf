"""Run the benchmarks at one size and write the results table into README.md.

    .venv/bin/python benchmarks/run_all.py --size S|M|L [--runs 3] [--no-readme] [--skip peer,browser,...]
    .venv/bin/python benchmarks/run_all.py --helpers 12 --weeks 8 --runs 1 --no-readme   (a quick check)
    .venv/bin/python benchmarks/run_all.py --size S --engine postgresql    (a throwaway PostgreSQL cluster)
    .venv/bin/python benchmarks/run_all.py --size S --database-url postgresql+psycopg://.../empty_db

Sizes (``python -m burnout demo --helpers N --weeks W --seed 7``): S = 60 x 52,
M = 1,000 x 104, L = 10,000 x 104.  Each step runs in its own process and
reports wall and CPU seconds and that process's peak RSS (measure.py):

* ``cli``: demo files, import into an empty database, the same import again,
  ``rebuild`` (n/a when this version has no such command), ``risk`` and
  ``turnover`` (bench_cli.py);
* ``pages``: the lead's team page, the HR review and the helper's check-in page
  in AppTest: first open in a fresh process (median of ``--runs`` processes),
  warm reruns and reruns right after one check-in elsewhere (bench_pages.py);
* ``whatif``: the HR review's what-if controls moved one at a time (bench_whatif.py);
* ``write``: one check-in at a time (bench_writes.py --single);
* ``peer``, ``browser``: the peer dashboard on the same check-ins, AppTest and
  Chromium (bench_peer.py);
* ``profile``: py-spy on the step that took the most CPU;
* ``legacy``: scoring 1 M answer sets, the risk model in memory, and 32
  concurrent check-in writers on SQLite and PostgreSQL (the earlier rows).

Results go to benchmarks/results/bench-<size>.json (bench-<size>-postgresql.json on
PostgreSQL); the README table shows every size and engine that has a results file,
each figure beside issue #12's target at L.  ``--engine postgresql`` starts a
throwaway cluster as the tests do (tests/pg.py) and runs every step on it;
``--database-url`` names an empty database of your own instead.
"""
from __future__ import annotations

import argparse
import calendar
import collections
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import PYTHON, ROOT, SIZES, cap_at_deadline, results, run_measured, step_timeout  # noqa: E402

BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
PAGES = ("team", "org_review", "checkin")
DERIVED = ("ratio.team.warm", "checkins", "server.ours", "server.peer")   # computed again by derived()
STEPS = ("cli", "pages", "whatif", "write", "peer", "browser", "profile", "legacy")

# (key, what, target at L) - the targets are issue #12's table.
TARGETS = [
    ("checkins", "weekly pulse check-ins in the organisation (both dashboards)", ""),
    ("import", "import (CLI), three files into an empty database", "≤ 60 s wall, ≤ 2 GB"),
    ("reimport", "import of the same, unchanged files again (CLI)", "a cheap comparison"),
    ("rebuild", "`rebuild` (CLI), the materialised helper-weeks from scratch", ""),
    ("risk", "`risk` CLI: re-score, risk, leaving probability and cost", "≤ 10 s"),
    ("turnover", "`turnover` CLI (calculator)", ""),
    ("team.cold", "lead's team page, first open", "≤ 3 s"),
    ("team.warm", "team page, warm rerun (AppTest)", "≤ 1/5 of the peer's"),
    ("peer.team.warm", "peer's team page, warm rerun (AppTest), same check-ins", ""),
    ("ratio.team.warm", "our warm rerun ÷ the peer's (wall; CPU)", "≤ 0.2"),
    ("team.after_checkin", "team page right after one check-in in another team (from 28e05ae: once its process's update after it is done)", "≤ 0.5 s"),
    ("team.after_checkin_at_once", "team page clicked the moment that check-in is stored (the update under way)", "≤ 0.5 s"),
    ("team.after_new_week", "team page right after the week's first check-in (every figure's week moves; once a week; from da9024b the page shown before, while the update makes the new one)", ""),
    ("team.after_new_week_ready", "team page once the update after the week's first check-in has made it", ""),
    ("org_review.cold", "HR review, first open", "≤ 10 s"),
    ("org_review.warm", "HR review, warm rerun", "≤ 1 s"),
    ("org_review.after_checkin", "HR review right after one check-in (from 28e05ae: once its process's update after it is done)", "≤ 2 s"),
    ("org_review.after_checkin_at_once", "HR review clicked the moment that check-in is stored (the update under way)", "≤ 2 s"),
    ("org_review.after_new_week", "HR review right after the week's first check-in (once a week; from 011114a the review shown before, while the update makes the new one)", ""),
    ("org_review.after_new_week_ready", "HR review once the update after the week's first check-in has made it", ""),
    ("org_review.whatif", "HR review, a what-if control moved (AppTest)", ""),
    ("checkin.cold", "helper's check-in page, first open", ""),
    ("checkin.warm", "check-in page, warm rerun", ""),
    ("checkin.after_checkin", "check-in page right after one check-in elsewhere", ""),
    ("checkin_write", "one check-in saved (`checkin.save_checkin`)", ""),
    ("browser.team", "browser click → team chart drawn (Chromium)", "≤ 1 s"),
    ("peer.browser.team", "peer: browser click → team chart drawn", ""),
    ("server.ours", "dashboard server peak RSS after the lead's clicks", "≤ 2 GB"),
    ("server.peer", "peer's server peak RSS after the same clicks", ""),
]


def step(script: str, *args: str, env: dict | None = None, expect: tuple[str, ...] = (),
         timeout: float | None = -1) -> tuple[list[dict], list[str]]:
    """Run one benchmark script; its RESULT lines and its legacy ROW lines.

    When the script runs out of the step time limit (--step-timeout) or fails, what it
    measured before stays, and each ``expect``ed figure it did not reach becomes a row
    saying so; a failing script without ``expect`` stops the run."""
    print("$", script, " ".join(args), flush=True)
    deadline = float(os.environ.get("BENCH_DEADLINE") or 0)
    if deadline and expect and deadline - time.time() < 60:
        print("   not run: the run's deadline has come", flush=True)
        return [{"key": k, "na": "not run: out of time"} for k in expect], []
    if timeout is not None:
        timeout = cap_at_deadline(step_timeout() if timeout == -1 else timeout)
    r = run_measured([PYTHON, str(BENCH / script), *args], env=env, timeout=timeout)
    found = results(r["stdout"])
    if r["timed_out"] or r["rc"]:
        sys.stderr.write(r["stderr"][-4000:])
        if not expect:
            raise SystemExit(f"{script} failed with exit code {r['rc']}")
        have = {f["key"] for f in found}
        missing = [k for k in expect if k not in have]
        if r["timed_out"]:
            print(f"   {script} did not finish in {r['wall']:.0f} s", flush=True)
            found += [{"key": k, "dnf": round(r["quiet_s"])} if i == 0 else {"key": k, "na": "not reached"}
                      for i, k in enumerate(missing)]
        else:
            why = (r["stderr"].strip().splitlines() or [f"exit code {r['rc']}"])[-1][:200]
            found += [{"key": k, "failed": why} for k in missing]
    for res in found:
        print("  ", fmt(res) if res.get("runs") else res, flush=True)
    print(f"   ({r['wall']:.0f} s)", flush=True)
    rows = [ln[4:].strip() for ln in r["stdout"].splitlines() if ln.startswith("ROW|") and "build frames" not in ln]
    return found, rows


def fmt(res: dict | None) -> str:
    if not res:
        return "–"
    if res.get("na"):
        return f"n/a ({res['na']})"
    if res.get("dnf") is not None:
        return f"> {res['dnf']:,} s (did not finish)"
    if res.get("failed"):
        return "failed"
    if "count" in res:
        return f"{res['count']:,}"
    if "ratio" in res:
        cpu = res.get("cpu_ratio")
        return f"{res['ratio']:.2f}" + (f" (CPU {cpu:.2f})" if cpu is not None else "")
    if "server_mib" in res:
        return f"{res['server_mib']:,.0f} MiB"
    out = f"{res['wall']:.2f} s" if res["wall"] < 10 else f"{res['wall']:,.0f} s"
    bits = []
    if res.get("cpu") is not None:
        bits.append(f"CPU {res['cpu']:.2f} s" if res["cpu"] < 10 else f"CPU {res['cpu']:,.0f} s")
    if res.get("server_cpu") is not None:
        sc = res["server_cpu"]
        bits.append(f"server CPU {sc:.2f} s" if sc < 10 else f"server CPU {sc:,.0f} s")
    if res.get("rss_mib") and not res["key"].startswith(("browser", "peer.browser")):
        bits.append(f"{res['rss_mib']:,.0f} MiB")
    return out + (f" ({', '.join(bits)})" if bits else "")


def merge_cold(found: list[dict]) -> list[dict]:
    """Several fresh processes' first opens of a page → one median row per page."""
    by = collections.defaultdict(list)
    rest = []
    for r in found:
        (by[r["key"]] if r["key"].endswith(".cold") else rest).append(r)
    for key, rs in by.items():
        done = [r for r in rs if r.get("wall") is not None]
        if not done:        # did not finish or failed in every process
            rest.append(rs[0])
            continue
        rs = done
        rest.append({"key": key, "runs": len(rs), "wall": statistics.median(r["wall"] for r in rs),
                     "cpu": statistics.median(r["cpu"] for r in rs), "rss_mib": max(r["rss_mib"] for r in rs)})
        if all(r.get("server_cpu") is not None for r in rs):
            rest[-1]["server_cpu"] = statistics.median(r["server_cpu"] for r in rs)
    return rest


def derived(res: dict[str, dict]) -> None:
    """Figures computed from others: the ratio to the peer, the check-in count, server memory."""
    if res.get("team.warm", {}).get("wall") and res.get("peer.team.warm", {}).get("wall"):
        ours, peer = res["team.warm"], res["peer.team.warm"]
        res["ratio.team.warm"] = {"key": "ratio.team.warm", "ratio": ours["wall"] / peer["wall"],
                                  "cpu_ratio": ours["cpu"] / peer["cpu"] if peer.get("cpu") else None}
    if "count" in res.get("peer.checkins", {}):
        res["checkins"] = {"key": "checkins", "count": res["peer.checkins"]["count"]}
    for ours, key in (("browser.team", "server.ours"), ("peer.browser.team", "server.peer")):
        if res.get(ours, {}).get("rss_mib"):
            res[key] = {"key": key, "server_mib": res[ours]["rss_mib"]}


# --------------------------------------------------------------------------- profile

def summarise_profile(raw: Path, top: int = 8) -> list[str]:
    """py-spy's collapsed stacks → the functions holding most samples (inclusive),
    this project's first, then the frames where the time is actually spent (self)."""
    inclusive, own = collections.Counter(), collections.Counter()
    total = 0
    for ln in raw.read_text().splitlines():
        stack, _, n = ln.rpartition(" ")
        if not stack:
            continue
        n = int(n)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    if not total:
        return ["no samples"]

    def short(f):
        return f.replace(str(ROOT) + "/", "").replace(str(Path(sys.prefix)) + "/", "")

    ours = [(f, n) for f, n in inclusive.most_common() if "burnout/" in f and "<module>" not in f
            and "/ui/" not in f]
    lines = [f"{total:,} samples"]
    lines += [f"incl. {100 * n / total:4.0f} %  {short(f)}" for f, n in ours[:top]]
    lines += [f"self  {100 * n / total:4.0f} %  {short(f)}" for f, n in own.most_common(top)]
    return lines


def profile(key: str, commands: dict[str, list[str]], env: dict, out: Path) -> dict:
    spy = Path(sys.executable).with_name("py-spy")
    raw = out.with_suffix(".raw")
    cmd = [str(spy), "record", "--rate", "50", "--format", "raw", "--output", str(raw), "--", *commands[key]]
    print("$ py-spy record ...", " ".join(commands[key][1:]), flush=True)
    r = run_measured(cmd, env=env)
    if r["rc"] or not raw.exists():
        return {"key": key, "error": (r["stderr"] or "py-spy failed")[-500:]}
    lines = summarise_profile(raw)
    out.write_text(f"py-spy on {key}: {' '.join(commands[key][1:])}\n" + "\n".join(lines) + "\n")
    raw.unlink()
    return {"key": key, "summary": lines}


# --------------------------------------------------------------------------- README

def size_label(data: dict) -> str:
    engine = data.get("engine", "sqlite")
    return f"{data['size']} ({data['helpers']:,} × {data['weeks']}){', PostgreSQL' if engine == 'postgresql' else ''}"


def table(all_results: list[dict]) -> str:
    head = "| step | " + " | ".join(size_label(d) for d in all_results) + " | target at L |"
    lines = [head, "|---" * (len(all_results) + 2) + "|"]
    for key, what, target in TARGETS:
        cells = [fmt(d["results"].get(key)) for d in all_results]
        if all(c == "–" for c in cells):
            continue
        lines.append(f"| {what} | " + " | ".join(cells) + f" | {target or '–'} |")
    return "\n".join(lines)


def under_table(all_results: list[dict]) -> list[str]:
    """Which code and how busy a machine each column measured, right under the table:
    columns from different revisions are not one code's figures."""
    by_rev = collections.defaultdict(list)
    for d in all_results:
        by_rev[d.get("revision")].append(d)
    lines = []
    for rev, ds in by_rev.items():
        cols = []
        for d in ds:
            when = (f"{d['started']} – {d['finished'].split()[1]}" if d.get("started") and d.get("finished")
                    else d["date"])
            load = f", load average {d['load'][0]:g} → {d['load'][1]:g}" if d.get("load") else ""
            cut = ", incomplete" if d.get("partial") else ""
            cols.append(f"{size_label(d)} ({when}{load}{cut})")
        what = f"code revision {rev}" if rev else "an earlier revision (not recorded)"
        lines.append(f"Measured on {what}: {'; '.join(cols)}.")
    return ["", *lines] if lines else []


def render(all_results: list[dict]) -> str:
    parts = []
    for d in all_results:
        busy = (f" (5-minute load average {d['load'][0]:g} at the start, {d['load'][1]:g} at the end)"
                if d.get("load") else "")
        rev = f" on code revision {d['revision']}" if d.get("revision") else ""
        limit = (f"; each measured process limited to {d['step_timeout']:,.0f} s wall" if d.get("step_timeout")
                 else "") + (f" ({d['import_timeout']:,.0f} s for the import)" if d.get("import_timeout") else "")
        cut = f" **Incomplete ({d['partial']}).**" if d.get("partial") else ""
        parts.append(f"- {size_label(d)}: measured {d['date']}{rev} with `{d['command']}` on {d['machine']}"
                     f"{busy}{limit}.{cut}")
    parts += ["", "Each cell: median wall time (median CPU seconds of the process, its peak RSS); "
              "first opens are separate fresh processes, warm and after-check-in figures are reruns "
              "of one AppTest session; browser figures are wall time from the click until the first "
              "chart is drawn, with the CPU seconds Chromium and the dashboard server spent meanwhile "
              "(the machine is shared: under load the wall times wait for other processes, the CPU "
              "seconds are the figures to compare). On PostgreSQL the queries' own work is done by the "
              "database server: where a cell says \"server CPU\", that is what the whole cluster (all its "
              "processes) used during the step, to add to the process's own CPU seconds.",
              "", table(all_results), *under_table(all_results)]
    profiles = [(d, d.get("profile")) for d in all_results if d.get("profile", {}).get("summary")]
    for d, p in profiles:
        parts += ["", f"Profile of the step that took the most CPU at {size_label(d)}, `{p['key']}` "
                      "(py-spy, share of samples):", "", "```", *p["summary"], "```"]
    legacy = [(d["size"], r) for d in all_results for r in d.get("legacy", [])]
    if legacy:
        parts += ["", "Other measurements (the size is in each row):", "", "| benchmark | size | result |",
                  "|---|---|---|", *[f"| {r} |" if not r.endswith("|") else f"| {r}" for _, r in legacy]]
    return "\n".join(parts)


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    body = readme.read_text()
    block = f"{START}\n{text}\n{END}"
    if START in body:
        body = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, body, flags=re.S)
    else:
        body = body.rstrip() + "\n\n" + block + "\n"
    readme.write_text(body)


def load_all(results_dir: Path) -> list[dict]:
    order = {k: i for i, k in enumerate(SIZES)}
    found = [json.loads(p.read_text()) for p in results_dir.glob("bench-*.json")]
    return sorted(found, key=lambda d: (order.get(d["size"], 99), d.get("engine", "sqlite") != "sqlite"))


# --------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES))
    ap.add_argument("--helpers", type=int, help="a custom size (with --weeks) instead of --size")
    ap.add_argument("--weeks", type=int)
    ap.add_argument("--runs", type=int, default=3, help="runs behind each median (≥ 3 for the table)")
    ap.add_argument("--skip", default="", help=f"comma-separated steps to leave out: {', '.join(STEPS)}")
    ap.add_argument("--peer-git", help="a git copy of the peer (default: the fetched mirror, else a clone)")
    ap.add_argument("--results-dir", type=Path, default=RESULTS)
    ap.add_argument("--no-readme", action="store_true", help="print the table only")
    ap.add_argument("--readme-only", action="store_true",
                    help="measure nothing: rewrite the README table from the results files")
    ap.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite",
                    help="postgresql: start a throwaway cluster (as tests/pg.py) and run every step on it")
    ap.add_argument("--database-url", help="an empty database to run every step on (instead of --engine)")
    ap.add_argument("--step-timeout", type=float, default=0,
                    help="seconds one measured process may run; a step that runs out is recorded as "
                         "'> N s (did not finish)' and the run goes on (an import that runs out stops it)")
    ap.add_argument("--import-timeout", type=float, default=0,
                    help="the same for the first import, which every later step waits for (default: --step-timeout)")
    ap.add_argument("--deadline", help="HH:MM UTC today: whatever runs then is ended as not finished, "
                                       "later steps are not run")
    ap.add_argument("--resume", action="store_true",
                    help="with --database-url of a database this size was already imported into: add to its "
                         "results file the steps not skipped (no new import; earlier figures are kept)")
    ap.add_argument("--pages", default=",".join(PAGES), help="the pages to measure, in this order")
    ap.add_argument("--demo-dir", type=Path, help="where the demo files go; reused when they exist (same size)")
    a = ap.parse_args()
    if a.readme_only:
        write_readme(render(load_all(a.results_dir)))
        return
    if a.size:
        helpers, weeks = SIZES[a.size]
        label = a.size
    elif a.helpers and a.weeks:
        helpers, weeks, label = a.helpers, a.weeks, f"{a.helpers}x{a.weeks}"
    else:
        ap.error("give --size or --helpers and --weeks")
    skip = {s.strip() for s in a.skip.split(",") if s.strip()}
    if skip - set(STEPS):
        ap.error(f"unknown steps to skip: {sorted(skip - set(STEPS))}")

    if a.deadline:
        hh, mm = map(int, a.deadline.split(":"))
        now = time.gmtime()
        os.environ["BENCH_DEADLINE"] = str(calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, hh, mm, 0)))
    if a.resume and not a.database_url:
        ap.error("--resume needs --database-url")
    load_start = os.getloadavg()[1]
    db = Path(tempfile.mkdtemp(prefix=f"bench_{label}.")) / "bench.db"
    server = None
    if a.database_url:
        url = a.database_url
        pid = postmaster_of(url)
        if pid:
            os.environ["BENCH_PG_PID"] = pid
    elif a.engine == "postgresql":
        server = pg_server()
        url = server.new_database()
        # Whose CPU seconds are the server's (measure.server_cpu): every step reports them beside its own.
        os.environ["BENCH_PG_PID"] = (Path(server.data) / "postmaster.pid").read_text().split()[0]
    else:
        url = f"sqlite:///{db}"
    engine = "postgresql" if url.startswith("postgresql") else "sqlite"
    try:
        run(a, label, helpers, weeks, skip, url, engine, server, db, load_start)
    finally:
        if server is not None:
            server.stop()


def postmaster_of(url: str) -> str | None:
    """The process id of a local throwaway cluster (tests/pg.py's, /tmp/pgtest.*) serving ``url``,
    so its CPU seconds can be counted; None for any other database."""
    m = re.match(r"postgresql(\+\w+)?://[^@]*@(127\.0\.0\.1|localhost):(\d+)/", url)
    if not m:
        return None
    for pidfile in Path(tempfile.gettempdir()).glob("pgtest.*/postmaster.pid"):
        lines = pidfile.read_text().splitlines()
        if len(lines) > 3 and lines[3].strip() == m.group(3):
            return lines[0].strip()
    return None


def pg_server():
    """A throwaway PostgreSQL cluster, the one the tests start (tests/pg.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pg import Server   # noqa: E402 - the tests' helper, one place for how a cluster is started

    return Server()


def cli_step(a, helpers: int, weeks: int, url: str, runs: str) -> list[dict]:
    """The import is what every later step reads, so it runs even when "cli" is skipped
    from the table (bench_cli.py is the only way data get into the database here).
    Its commands are limited one by one inside bench_cli.py, not as a whole."""
    return step("bench_cli.py", "--helpers", str(helpers), "--weeks", str(weeks), "--url", url,
                "--runs", runs, *(["--demo-dir", str(a.demo_dir)] if a.demo_dir else []),
                timeout=None, expect=("demo", "import", "reimport", "rebuild", "risk", "turnover"))[0]


def run(a, label: str, helpers: int, weeks: int, skip: set[str], url: str, engine: str, server, db: Path,
        load_start: float) -> None:
    env = {"BURNOUT_DATABASE_URL": url, "BURNOUT_DEMO": "0"}
    if a.step_timeout:
        os.environ["BENCH_STEP_TIMEOUT"] = str(a.step_timeout)   # every measured process inherits it
    if a.import_timeout:
        os.environ["BENCH_IMPORT_TIMEOUT"] = str(a.import_timeout)
    runs = str(a.runs)
    found: list[dict] = []
    legacy: list[str] = []
    commands: dict[str, list[str]] = {}
    suffix = "" if engine == "sqlite" else f"-{engine}"
    out_file = a.results_dir / f"bench-{label}{suffix}.json"
    cpu_n = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    data = {"size": label, "helpers": helpers, "weeks": weeks, "date": time.strftime("%Y-%m-%d"),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "benchmarks/run_all.py " + " ".join(sys.argv[1:]),
            "revision": _revision(),
            "engine": engine,
            "machine": f"{cpu_n} cores, {mem:.0f} GiB, Python {platform.python_version()}, "
                       + ("embedded SQLite" if engine == "sqlite" else _pg_version(url)),
            "step_timeout": a.step_timeout or None, "import_timeout": a.import_timeout or None}

    def save(partial: str | None, prof: dict | None = None) -> dict:
        """The results so far; a long run is written after every step, so a stopped run keeps them."""
        res = {r["key"]: r for r in merge_cold(found)}
        derived(res)
        data.update({"load": [round(load_start, 1), round(os.getloadavg()[1], 1)],
                     "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "results": res, "legacy": legacy, "profile": prof or {}})
        data.pop("partial", None)
        if partial:
            data["partial"] = partial
        if not a.no_readme:
            a.results_dir.mkdir(parents=True, exist_ok=True)
            out_file.write_text(json.dumps(data, indent=1) + "\n")
        return res

    if a.resume:
        earlier = json.loads(out_file.read_text())
        found += [r for r in earlier["results"].values() if r["key"] not in DERIVED]
        legacy += earlier.get("legacy", [])
        data.update({k: earlier[k] for k in ("date", "started", "revision", "step_timeout", "import_timeout")
                     if k in earlier})
        data["command"] = earlier["command"] + "`, then `" + data["command"]
        load_start = earlier.get("load", [load_start])[0]
        got = [earlier["results"]["demo"]]
    else:
        got = cli_step(a, helpers, weeks, url, runs)
        if not any(r["key"] == "import" and r.get("wall") is not None for r in got):
            found += got
            save("stopped: the import did not finish, so nothing after it was measured")
            raise SystemExit("the import did not finish")
        if "cli" not in skip:
            found += got
        save("running: CLI done")
    demo_dir = next(r["dir"] for r in got if r["key"] == "demo")
    commands["import"] = [PYTHON, "-m", "burnout", "import", *(f"--{f}={demo_dir}/{f}.csv"
                                                              for f in ("roster", "surveys", "caseload"))]
    commands["risk"] = [PYTHON, "-m", "burnout", "risk", "--output", f"{demo_dir}/risk-profile.csv", "--as",
                        "benchmark", "--reason", "benchmark"]

    if "pages" not in skip:
        for page in [p.strip() for p in a.pages.split(",") if p.strip()]:
            got, _ = step("bench_pages.py", "--url", url, "--page", page, "--warm", runs, "--after", runs,
                          expect=(f"{page}.cold", f"{page}.warm", f"{page}.after_checkin"))
            found += got
            for _ in range(a.runs - 1):
                found += step("bench_pages.py", "--url", url, "--page", page, "--cold-only",
                              expect=(f"{page}.cold",))[0]
            commands[f"{page}.cold"] = [PYTHON, str(BENCH / "bench_pages.py"), "--url", url, "--page", page,
                                        "--cold-only"]
            save(f"running: page {page} done")
    if "whatif" not in skip:
        found += step("bench_whatif.py", "--url", url, expect=("org_review.whatif",))[0]
        save("running: what-if done")
    if "write" not in skip:
        found += step("bench_writes.py", "--url", url, "--single", str(max(3, a.runs)), expect=("checkin_write",))[0]
        save("running: write done")
    if "peer" not in skip or "browser" not in skip:
        args = ["--url", url, "--runs", runs] + (["--no-browser"] if "browser" in skip else [])
        expect = ("peer.checkins", "peer.team.cold", "peer.team.warm") + (
            () if "browser" in skip else ("browser.team", "peer.browser.team"))
        found += step("bench_peer.py", *args, *(["--peer-git", a.peer_git] if a.peer_git else []),
                      expect=expect)[0]
        save("running: peer done")

    res = save("running: profile")
    prof = {}
    if "profile" not in skip:
        cpu = {k: r["cpu"] for k, r in res.items() if k in commands and r.get("cpu")}
        if cpu:
            slowest = max(cpu, key=cpu.get)
            if slowest == "import":   # the import profile needs an empty database of its own
                empty = server.new_database() if server is not None else (
                    f"sqlite:///{db.with_name('profile.db')}" if engine == "sqlite" else None)
                env_p = {**env, "BURNOUT_DATABASE_URL": empty} if empty else None
            else:
                env_p = env
            if env_p is not None:
                a.results_dir.mkdir(parents=True, exist_ok=True)
                prof = profile(slowest, commands, env_p, a.results_dir / f"profile-{label}{suffix}.txt")
                print("\n".join(prof.get("summary", [prof.get("error", "")])), flush=True)
    if "legacy" not in skip:
        # The earlier benchmarks call the core directly, so an API change can break one;
        # that is a row saying so, not a lost run of everything measured above.
        for script, *args in (("bench_scoring.py", "--rows", "1000000"),
                              ("bench_scoring.py", "--rows", "1000000", "--labels"),
                              ("bench_risk.py", "--helpers", str(helpers), "--weeks", str(weeks)),
                              ("bench_writes.py", "--engine", "both")):
            try:
                legacy += step(script, *args)[1]
            except SystemExit as exc:
                legacy.append(f"{script} | – | failed: {exc} |")

    save(None, prof)
    text = render([data])
    print("\n" + text)
    if a.no_readme:
        return
    write_readme(render(load_all(a.results_dir)))
    print("README.md updated")


def _revision() -> str:
    import subprocess

    try:
        # The product's revision: the last commit that changed burnout/ (benchmark-only commits
        # after it measure the same code).
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %cs", "--", "burnout"],
                             capture_output=True, text=True, timeout=30).stdout.split()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--",
                                "burnout"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "unknown"
    return f"{out[0]} ({out[1]}){', with uncommitted changes under burnout/' if dirty else ''}" if out else "unknown"


def _pg_version(url: str) -> str:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return "PostgreSQL " + conn.execute(text("SHOW server_version")).scalar().split()[0]
    finally:
        eng.dispose()


if __name__ == "__main__":
    main()
