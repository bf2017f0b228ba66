"""One way for every benchmark to hand its figures to `bench/run_all.py`'s table.

A script calls `record(...)` for each figure it measures. The figure is printed as a line the
script's own output can show, and, when `BENCH_RESULTS` names a file (run_all sets it), appended
to that file as one JSON object per line. run_all reads them back and prints one table.

A target is a bound the figure must meet (`higher_is_better` says which side); a baseline is
what a plain alternative measured in the same run (for example the official client's sequential
loop), so the ratio says how the service compares on this machine, today.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    bench: str
    backend: str
    figure: str
    value: float
    unit: str
    target: float | None = None
    baseline: float | None = None
    higher_is_better: bool = True
    why: str = ""
    """When the target is missed and the reason is known: said in the table's notes."""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.value != self.value:
            return None
        return self.value / self.baseline  # type: ignore[operator]

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        if self.value != self.value:  # NaN: not measured
            return "MISS"
        met = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if met else "MISS"


def record(
    bench: str,
    backend: str,
    figure: str,
    value: float,
    unit: str,
    *,
    target: float | None = None,
    baseline: float | None = None,
    higher_is_better: bool = True,
    why: str = "",
) -> Figure:
    result = Figure(
        bench, backend, figure, float(value), unit, target, baseline, higher_is_better, why
    )
    parts = [f"[figure] {backend} {figure}: {value:,.2f} {unit}"]
    if target is not None:
        parts.append(f"target {'>=' if higher_is_better else '<='} {target:,.2f}")
    if baseline is not None:
        parts.append(f"baseline {baseline:,.2f}")
    parts.append(result.verdict)
    print(", ".join(parts), flush=True)
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(result)) + "\n")
    return result


def read(path: Path) -> list[Figure]:
    if not path.exists():
        return []
    return [
        Figure(**json.loads(line))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
