"""Time a what-if change on the HR review page (not a unit test).

    .venv/bin/python benchmarks/bench_whatif.py sqlite:////tmp/copy-of-an-organisation.db

The database is changed (a reviewer account is added): pass a copy.  One AppTest
session opens the organisation review, reruns it once warm, then moves each what-if
control in turn; each step prints the process CPU and wall seconds of its ``at.run()``.
A what-if change adds the scenario to the cached review base (views.review.with_scenario),
so it costs the what-if's simulations and two charts, not a whole review.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from burnout import auth  # noqa: E402
from burnout.store import get_engine  # noqa: E402
from burnout.ui.common import now  # noqa: E402

PASSWORD = "correct horse battery 9"


def main(url: str) -> None:
    os.environ["BURNOUT_DATABASE_URL"] = url
    os.environ["BURNOUT_DEMO"] = "0"
    eng = get_engine(url)
    auth.create_user(eng, "bench-whatif-hr", PASSWORD, "hr")
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "org_review.py"), default_timeout=3600)
    at.session_state["user"] = auth.authenticate(eng, "bench-whatif-hr", PASSWORD)
    at.session_state["last_seen"] = now()

    def step(name, run):
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        assert not at.exception, [e.value for e in at.exception]
        print(f"RESULT {name}: {time.process_time() - cpu:.2f} CPU-s, {time.perf_counter() - wall:.2f} s wall",
              flush=True)

    step("first open", at.run)
    step("warm rerun", at.run)
    for v in (20, 25, 5):
        step(f"what-if reduction {v}", lambda: at.slider(key="rv_reduction").set_value(v).run())
    step("what-if cap off", lambda: at.checkbox(key="rv_cap").set_value(False).run())
    step("what-if cost 50000", lambda: at.number_input(key="rv_cost").set_value(50000.0).run())


if __name__ == "__main__":
    main(sys.argv[1])
