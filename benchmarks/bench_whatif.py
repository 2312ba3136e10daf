"""Time a what-if change on the HR review page (not a unit test).

    .venv/bin/python benchmarks/bench_whatif.py --url sqlite:////tmp/copy-of-an-organisation.db

The database is changed (a reviewer account is added): pass a copy (run_all.py's ``whatif``
step runs it on its own benchmark database).  One AppTest session opens the organisation
review, reruns it once warm, then moves each what-if control in turn; each step prints the
process CPU and wall seconds of its ``at.run()``, and the what-if changes' medians are one
RESULT line, ``org_review.whatif`` (measure.emit).  A what-if change adds the scenario to
the cached review base (views.review.with_scenario), so it costs the what-if's simulations
and two charts, not a whole review.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import emit, peak_mib_self, timed_call  # noqa: E402

PASSWORD = "correct horse battery 9"


def main(url: str) -> None:
    os.environ["BURNOUT_DATABASE_URL"] = url
    os.environ["BURNOUT_DEMO"] = "0"
    from streamlit.testing.v1 import AppTest

    from burnout import auth
    from burnout.store import get_engine
    from burnout.ui.common import now

    eng = get_engine(url)
    if auth.authenticate(eng, "bench-whatif-hr", PASSWORD) is None:
        auth.create_user(eng, "bench-whatif-hr", PASSWORD, "hr")
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "org_review.py"), default_timeout=3600)
    at.session_state["user"] = auth.authenticate(eng, "bench-whatif-hr", PASSWORD)
    at.session_state["last_seen"] = now()

    def step(name, run) -> dict:
        _, wall, cpu = timed_call(run)
        assert not at.exception, [e.value for e in at.exception]
        print(f"{name}: {cpu:.2f} CPU-s, {wall:.2f} s wall", flush=True)
        return {"wall": wall, "cpu": cpu, "rss_mib": peak_mib_self()}

    step("first open", at.run)
    step("warm rerun", at.run)
    changes = [step(f"what-if reduction {v}", lambda v=v: at.slider(key="rv_reduction").set_value(v).run())
               for v in (20, 25, 5)]
    changes.append(step("what-if cap off", lambda: at.checkbox(key="rv_cap").set_value(False).run()))
    changes.append(step("what-if cost 50000", lambda: at.number_input(key="rv_cost").set_value(50000.0).run()))
    emit("org_review.whatif", changes)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", nargs="?", help="the database (as --url)")
    ap.add_argument("--url", dest="url_opt")
    a = ap.parse_args()
    if not (a.url or a.url_opt):
        ap.error("give the database's URL")
    main(a.url_opt or a.url)
