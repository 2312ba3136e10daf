"""What every benchmark step reports, measured the same way: wall seconds, CPU
seconds (user + system, all threads) and peak resident memory of the process
that did the work.

A step that runs as a command is measured from outside with ``os.wait4`` (the
kernel's own accounting for that child, like ``/usr/bin/time -v``).  A step
inside a Python process (an AppTest page run) is measured with ``getrusage``
around the call.  Steps print ``RESULT|{json}`` lines that run_all.py collects.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SIZES = {"S": (60, 52), "M": (1000, 104), "L": (10000, 104)}


def cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def peak_mib_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def server_cpu() -> float | None:
    """CPU seconds the PostgreSQL cluster has used so far: the postmaster, the backends it
    has reaped and the ones still running (``BENCH_PG_PID``, set by run_all.py for its
    throwaway cluster).  On PostgreSQL a query's work is done there, not in the measured
    Python process, so a step's figure on PostgreSQL is its own CPU plus this one's change.
    None when there is no such cluster (SQLite works inside the process)."""
    pid = os.environ.get("BENCH_PG_PID")
    if not pid:
        return None
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:        # ended meanwhile: the postmaster's reaped-children times have it
            continue
        if entry == pid:
            total += sum(int(f) for f in fields[11:15])    # its own and its reaped children's
        elif fields[1] == pid:
            total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


_last_server = {"cpu": None}


def last_server_cpu() -> float | None:
    """The PostgreSQL server's CPU seconds during the last timed_call (None on SQLite)."""
    return _last_server["cpu"]


def timed_call(fn) -> tuple[object, float, float]:
    """(result, wall s, CPU s) of ``fn()`` in this process (the server's: last_server_cpu())."""
    s0, c, t = server_cpu(), cpu_self(), time.perf_counter()
    out = fn()
    wall, cpu = time.perf_counter() - t, cpu_self() - c
    _last_server["cpu"] = None if s0 is None else server_cpu() - s0
    return out, wall, cpu


def step_timeout() -> float | None:
    """Seconds one measured process may run (``BENCH_STEP_TIMEOUT``, set by run_all.py
    --step-timeout): a step that cannot finish at a large size is recorded as such
    instead of holding up every step after it."""
    limit = float(os.environ.get("BENCH_STEP_TIMEOUT") or 0) or None
    return cap_at_deadline(limit)


def cap_at_deadline(limit: float | None) -> float | None:
    """``limit``, but not past the run's deadline (``BENCH_DEADLINE``, seconds since the epoch,
    run_all.py --deadline): a run that must end by a given time ends its last step as one
    that did not finish."""
    deadline = float(os.environ.get("BENCH_DEADLINE") or 0)
    if not deadline:
        return limit
    left = max(1.0, deadline - time.time())
    return left if limit is None else min(limit, left)


def run_measured(args: list[str], env: dict | None = None, cwd: Path | None = None,
                 timeout: float | None = -1) -> dict:
    """Run a command as its own process: wall seconds, and the child's own CPU seconds and peak RSS from wait4.

    With a timeout (default: step_timeout()) the process and its children are killed when it
    runs out; ``timed_out`` is then set and ``stdout`` holds what it printed until then, and
    ``quiet_s`` how long it had been running since its last RESULT line (or its start)."""
    timeout = step_timeout() if timeout == -1 else timeout
    full_env = {**os.environ, **(env or {})}
    s0 = server_cpu()
    t = time.perf_counter()
    # Its own session, so a timeout ends the browser or py-spy children too.
    proc = subprocess.Popen(args, cwd=cwd or ROOT, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=timeout is not None)
    # Read both pipes on threads so a chatty child cannot block on a full pipe
    # while we sit in wait4.
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}
    last_result = [t]

    def drain(name, stream):
        for line in stream:
            chunks[name].append(line)
            if line.startswith(b"RESULT|"):
                last_result[0] = time.perf_counter()

    threads = [threading.Thread(target=drain, args=(n, s)) for n, s in
               (("out", proc.stdout), ("err", proc.stderr))]
    [th.start() for th in threads]
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if timer:
        timer.cancel()
    if timed_out.is_set():      # grandchildren may still hold the pipes open
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    [th.join() for th in threads]
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mib": ru.ru_maxrss / 1024,
            "server_cpu": None if s0 is None else server_cpu() - s0, "rc": proc.returncode, "timed_out": timed_out.is_set(), "quiet_s": t + wall - last_result[0],
            "stdout": b"".join(chunks["out"]).decode(errors="replace"),
            "stderr": b"".join(chunks["err"]).decode(errors="replace")}


def emit(key: str, runs: list[dict], **extra) -> dict:
    """Print one step's medians (wall, CPU) and its largest peak RSS as a RESULT line."""
    res = {"key": key, "runs": len(runs),
           "wall": statistics.median(r["wall"] for r in runs) if runs else None,
           "cpu": statistics.median(r["cpu"] for r in runs) if runs and "cpu" in runs[0] else None,
           "rss_mib": max(r.get("rss_mib", 0) for r in runs) if runs else None, **extra}
    if len(runs) > 1:       # each run's wall time too: a median hides a first run that paid for the rest
        res["each_wall"] = [round(r["wall"], 3) for r in runs]
    if runs and all(r.get("server_cpu") is not None for r in runs):
        res["server_cpu"] = statistics.median(r["server_cpu"] for r in runs)
    print("RESULT|" + json.dumps(res), flush=True)
    return res


def results(stdout: str) -> list[dict]:
    return [json.loads(ln[7:]) for ln in stdout.splitlines() if ln.startswith("RESULT|")]
