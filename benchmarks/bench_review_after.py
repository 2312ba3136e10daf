"""The HR review's parts right after one check-in, without the page (not a unit test).

    .venv/bin/python benchmarks/bench_review_after.py --url sqlite:////tmp/copy-of-an-organisation.db [--after 3] [--check]

The database is changed (check-ins are added): pass a copy.  As the HR page does
(ui/common.py: _org_frames, leaving_model, _review_base, review_page), the review is
built once (cold), then after each of ``--after`` check-ins in different teams the held
frames are patched (views.data.load_review_data(since=...)), the leaving model taken
again and the review base and default scenario built; each prints the CPU seconds of
reading, the model, the base and the scenario.  ``--check``: the last patched review
must equal one built from a fresh read (tests/test_review_read.assert_same_review).

``--audit``: instead of the review, the organisation's audit a lead's page waits for
(ui/common.py: org_audit, views.team.org_audit): the read, then the audit.  The first
check-in of a week whose data end the week before moves every figure's week and is a
cold build again (bench_pages.py says why): use a copy whose data reach this week.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_pages  # noqa: E402
from burnout import materialise  # noqa: E402
from burnout.store import frames, get_engine  # noqa: E402
from burnout.views.data import leaving_model_for, load_review_data  # noqa: E402
from burnout.views.review import review_base, with_scenario  # noqa: E402
from burnout.views.team import org_audit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--after", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--audit", action="store_true", help="the lead's organisation audit, not the HR review")
    a = ap.parse_args()
    engine = get_engine(a.url)

    def build(since):
        if a.audit:
            t = [time.process_time()]
            data = load_review_data(engine, with_model=False, since=since)
            t.append(time.process_time())
            audit = org_audit(data, "pulse_strain")
            t.append(time.process_time())
            return data, audit, [b - a for a, b in zip(t, t[1:])]
        t = [time.process_time()]
        data = load_review_data(engine, with_model=False, since=since)
        t.append(time.process_time())
        full = dataclasses.replace(data, leaving_model=leaving_model_for(engine, data))
        t.append(time.process_time())
        base = review_base(engine, "org", data=full)
        t.append(time.process_time())
        review = with_scenario(base, None)
        t.append(time.process_time())
        return data, review, [b - a for a, b in zip(t, t[1:])]

    def show(name, parts):
        if a.audit:
            print(f"{name}: read {parts[0]:.2f} CPU-s, audit {parts[1]:.2f} CPU-s", flush=True)
            return
        print(f"{name}: read {parts[0]:.2f}, model {parts[1]:.2f}, base {parts[2]:.2f}, scenario {parts[3]:.2f}; "
              f"total {sum(parts):.2f} CPU-s", flush=True)

    held, review, parts = build(None)
    show("cold", parts)
    roster = frames.roster(engine)
    active = roster[roster["end_date"].isna()]
    teams = sorted(active["team"].unique())
    for i in range(a.after):
        helper = active.loc[active["team"] == teams[(i * 37) % len(teams)], "helper_id"].iloc[0]
        bench_pages.one_checkin(engine, helper, second=60 + i)
        materialise.settle(engine)
        held, review, parts = build(held)
        show(f"after check-in {i + 1}", parts)
    if a.check and not a.audit:
        sys.path.insert(0, str(ROOT / "tests"))
        from test_review_read import assert_same_review
        assert_same_review(review, build(None)[1])
        print("the patched review equals a fresh one", flush=True)


if __name__ == "__main__":
    main()
