"""Speed work never changes a number: two runs' records compared value for value (exact).

    python benchmarks/records_compare_speed.py RUN_BEFORE RUN_AFTER

Compares status, value and details (flags, per-frame arrays, ...) of every record of the two
``records.jsonl`` files by (model, sample, metric); timings (``elapsed_s``) are ignored. Exit 1 on
any difference. Used for issue 14: the shipped clips through the offline suites with the base
code, then with each speed change.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def load(run_dir: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    out = {}
    with open(f"{run_dir}/records.jsonl") as f:
        for line in f:
            r = json.loads(line)
            out[(r["model"], r["sample_id"], r["metric"])] = r
    return out


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    bad = 0
    if set(a) != set(b):
        print("record sets differ:", sorted(set(a) ^ set(b))[:10])
        bad += 1
    for k in sorted(set(a) & set(b)):
        ra, rb = a[k], b[k]
        if ra.get("status") != rb.get("status") or ra.get("value") != rb.get("value"):
            bad += 1
            print("DIFF", k, ra.get("status"), ra.get("value"), rb.get("status"), rb.get("value"))
        da, db = ra.get("details") or {}, rb.get("details") or {}
        if da != db:
            bad += 1
            print("DETAILS DIFF", k, [x for x in set(da) | set(db) if da.get(x) != db.get(x)][:5])
    print(f"{len(a)} vs {len(b)} records, {bad} differences")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
