"""Benchmark the patrol optimizer (models.allocation.solve) at county and province scale.

    .venv/bin/python benchmarks/allocation_scale.py                 # 250, 3,000 and 30,000 villages
    .venv/bin/python benchmarks/allocation_scale.py --milp-up-to 3000   # and the MILP up to 3,000

Villages and expected harm are synthetic (fixed seed): townships of 15-25 villages (about 20),
counties of 12 townships (about 240 villages, the size conf/allocation.yaml's capacity is meant
for), harm gamma(0.8, 1.5) expected weighted incidents per village. Capacity and rules are the
project's conf/allocation.yaml. Writes one JSON line per size to
benchmarks/results/allocation_scale.jsonl (the file is rewritten) and prints each line: solve
wall time, objective, proven bound and gap, status, and the load average from /proc/loadavg
before and after (other jobs on the machine slow the solve down). Imports and a tiny solve run
first, so the times are of the solve alone. --milp-up-to N also solves the sizes up to N with
the MILP (method="milp", with the settings' mip_gap and time limit) for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from conf import load_yaml  # noqa: E402
from models.allocation import Rules, build_pools, check_plan, solve  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "allocation_scale.jsonl"


def synthetic(n: int, seed: int, townships_per_county: int = 12) -> tuple[pd.DataFrame, np.ndarray]:
    """n villages in townships of 15-25 villages, counties of townships_per_county townships."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(15, 26)))
    sizes[-1] -= sum(sizes) - n
    if sizes[-1] <= 0:
        sizes.pop()
        sizes[-1] += n - sum(sizes)
    town = np.repeat(np.arange(len(sizes)), sizes)
    villages = pd.DataFrame({
        "village_id": [f"V{i:05d}" for i in range(n)],
        "township_id": [f"T{t:04d}" for t in town],
        "county_id": [f"C{t // townships_per_county:03d}" for t in town],
    })
    return villages, rng.gamma(0.8, 1.5, n)


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def measure(n: int, seed: int, rules: Rules, milp: bool, townships_per_county: int = 12) -> dict:
    villages, harm = synthetic(n, seed, townships_per_county)
    pools = build_pools(villages, rules)
    before = loadavg()
    started = time.perf_counter()
    alloc = solve(villages, harm, rules, pools)
    wall = time.perf_counter() - started
    after = loadavg()
    check_plan(alloc.pairs, villages, pools, rules)  # every rule holds, or this raises
    row = {
        "villages": n, "townships": int(villages["township_id"].nunique()),
        "counties": int(villages["county_id"].nunique()), "seed": seed, "method": alloc.method,
        "wall_seconds": round(wall, 3), "objective": alloc.objective, "bound": alloc.bound,
        "gap": alloc.gap, "status": alloc.status, "hours": float(alloc.pairs["hours"].sum()),
        "loadavg_before": before, "loadavg_after": after,
    }
    if milp:
        started = time.perf_counter()
        ref = solve(villages, harm, rules, pools, method="milp")
        row.update(milp_seconds=round(time.perf_counter() - started, 3), milp_objective=ref.objective,
                   milp_bound=ref.bound, milp_gap=ref.gap, milp_status=ref.status,
                   milp_time_limit=rules.time_limit_seconds, milp_mip_gap=rules.mip_gap)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 3000, 30000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--milp-up-to", type=int, default=0, help="also solve sizes up to this with the MILP")
    ap.add_argument("--townships-per-county", type=int, default=12,
                    help="a huge value puts every village in one county (one pool of each county actor)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rules = Rules.from_section(load_yaml("allocation.yaml"))
    villages, harm = synthetic(40, 0)
    solve(villages, harm, rules)  # warm-up: scipy's imports are not part of the times
    common = {"python": platform.python_version(), "cpus": os.cpu_count(),
              "scipy": __import__("scipy").__version__, "date": time.strftime("%Y-%m-%d")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as fh:
        for n in args.sizes:
            row = {**measure(n, args.seed, rules, n <= args.milp_up_to, args.townships_per_county), **common}
            line = json.dumps(row)
            print(line, flush=True)
            fh.write(line + "\n")
            fh.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
