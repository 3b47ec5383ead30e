"""Compare two run directories' records value for value.

    python benchmarks/records_diff.py RUN_A RUN_B [--aliases] [--show N]

Records are matched by (model, sample, metric); with ``--aliases`` each side's metric names go
through the deprecated-alias table first (metrics/registry.py ``DEPRECATED_NAMES``), so a run made
before the naming grammar compares with one made after it. Two records are identical when status,
reason and value are equal (exactly: the same code on the same CPU gives the same float; no
tolerance). Prints identical / differing / missing counts (and the first ``--show`` differences)
and exits 1 on any difference or missing record, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Diff:
    identical: int = 0
    differing: list[str] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.differing or self.only_a or self.only_b)

    def summary(self) -> str:
        return (f"identical {self.identical}, differing {len(self.differing)}, "
                f"missing in B {len(self.only_a)}, missing in A {len(self.only_b)}")


def _records(run_dir: Path, aliases: bool) -> dict[tuple[str, str, str], tuple]:
    from avatar_eval.metrics.registry import canonical_name
    from avatar_eval.results.store import read_records

    out: dict[tuple[str, str, str], tuple] = {}
    for r in read_records(run_dir / "records.jsonl"):  # the last line of a key wins, as in a report
        metric = canonical_name(r.metric) if aliases else r.metric
        out[(r.model, r.sample_id, metric)] = (r.status, r.reason, r.value)
    return out


def diff_runs(run_a: str | Path, run_b: str | Path, aliases: bool = False) -> Diff:
    """Record-by-record comparison of two run directories (see the module doc)."""
    a = _records(Path(run_a), aliases)
    b = _records(Path(run_b), aliases)
    d = Diff()
    for k in sorted(a.keys() | b.keys()):
        if k not in b:
            d.only_a.append("|".join(k))
        elif k not in a:
            d.only_b.append("|".join(k))
        elif a[k] == b[k]:
            d.identical += 1
        else:
            d.differing.append(f"{'|'.join(k)}: {a[k]} != {b[k]}")
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    ap.add_argument("--aliases", action="store_true", help="map deprecated metric names to the current ones")
    ap.add_argument("--show", type=int, default=20, help="print at most this many differences per kind")
    args = ap.parse_args(argv)
    d = diff_runs(args.run_a, args.run_b, args.aliases)
    print(d.summary())
    for title, items in (("differing", d.differing), ("missing in B", d.only_a), ("missing in A", d.only_b)):
        for x in items[: args.show]:
            print(f"  {title}: {x}")
    return 0 if d.ok else 1


if __name__ == "__main__":
    sys.exit(main())
