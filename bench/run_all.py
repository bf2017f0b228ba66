"""Run every benchmark in bench/ in turn and print ONE table of their figures.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--markdown]

Each script runs under the same interpreter, one after another (never in parallel, so they do not
disturb each other's timings), with `BENCH_RESULTS` naming a temporary file: every `record(...)`
in it (`bench/_results.py`) adds a line there. The table then shows each figure with its target,
the baseline measured in the same run, the ratio of the two and PASS or MISS, followed by the
reason for each miss the script knew. Exits non-zero when a script fails or a target is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from _results import Figure, read  # noqa: E402

QUICK_ARGS: dict[str, list[str]] = {
    "announce": ["--count", "50", "--warmup", "10"],
    "api_load": ["--quick"],
    "cascade": ["--people", "1000"],
    "daily_limit": ["--people", "1000", "--daily-sms-limit", "200", "--backend", "sqlite"],
    "email_bytes": ["--people", "500", "--repeat", "3"],
    "hostile": ["--repeat", "1"],
    "importer": ["--rows", "2000", "--repeat", "1"],
    "pages": ["--people", "2000", "--count", "20", "--warmup", "5"],
    "plan": ["--count", "5", "--warmup", "2", "--people", "2000"],
    "releases": ["--people", "2000"],
    "render": ["--repeat", "30"],
    "scheduler": ["--quick"],
    "webhooks": ["--events", "2000"],
}
"""Smaller sizes for `--quick`: minutes in all rather than most of an hour."""
COLUMNS = ("bench", "backend", "figure", "value", "target", "baseline", "ratio", "verdict")


NOT_BENCHES = {Path(__file__).name, "db_hop.py"}
"""Scripts in bench/ that measure nothing themselves: this one, and the relay that puts a hop in
front of PostgreSQL for another bench (it runs until stopped)."""


def scripts() -> list[Path]:
    return sorted(
        path
        for path in BENCH_DIR.glob("*.py")
        if path.name not in NOT_BENCHES and not path.name.startswith("_")
    )


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value != value:
        return "not measured"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".rstrip()


def cells(figure: Figure) -> list[str]:
    target = "-"
    if figure.target is not None:
        side = ">=" if figure.higher_is_better else "<="
        target = f"{side} {number(figure.target, figure.unit)}"
    ratio = figure.ratio
    return [
        figure.bench,
        figure.backend,
        figure.figure,
        number(figure.value, figure.unit),
        target,
        number(figure.baseline, figure.unit),
        "-" if ratio is None else f"{ratio:,.2f}x",
        figure.verdict,
    ]


def notes(figures: list[Figure], failed: dict[str, str]) -> list[str]:
    """One line per miss (with its reason when the bench gave one) and per failed script."""
    lines = [
        f"{f.bench} {f.backend} {f.figure}: MISS" + (f": {f.why}" if f.why else "")
        for f in figures
        if f.verdict == "MISS"
    ]
    lines += [f"{name}: {reason}" for name, reason in failed.items()]
    return lines


def table(figures: list[Figure], *, markdown: bool = False) -> str:
    rows = [cells(figure) for figure in figures]
    header = [name if name != "verdict" else "PASS/MISS" for name in COLUMNS]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows
        ]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {3, 4, 5, 6}

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def report(figures: list[Figure], failed: dict[str, str], *, markdown: bool) -> str:
    text = table(figures, markdown=markdown)
    missed = notes(figures, failed)
    if missed:
        bullet = "- " if markdown else "  "
        text += "\n\nNotes:\n" + "\n".join(bullet + line for line in missed)
    return text


def run(script: Path, extra: list[str], results: Path) -> str | None:
    """Run one script; None when it succeeded, else why not."""
    title = f"bench/{script.name}"
    print(f"=== {title} {' '.join(extra)} " + "=" * max(0, 70 - len(title)), flush=True)
    started = time.monotonic()
    env = {**os.environ, "BENCH_RESULTS": str(results)}
    done = subprocess.run([sys.executable, str(script), *extra], cwd=BENCH_DIR.parent, env=env)
    took = time.monotonic() - started
    if done.returncode != 0:
        print(f"--- {title} failed with exit code {done.returncode} ({took:.1f} s)\n", flush=True)
        return f"failed with exit code {done.returncode}"
    print(f"--- {title} done in {took:.1f} s\n", flush=True)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (QUICK_ARGS)")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="just this bench (repeatable)"
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)

    chosen = scripts()
    if args.only:
        known = {path.stem for path in chosen}
        unknown = sorted(set(args.only) - known)
        if unknown:
            parser.error(f"no bench named {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        chosen = [path for path in chosen if path.stem in args.only]

    failed: dict[str, str] = {}
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="iw-bench-results-") as tmp:
        for script in chosen:
            results = Path(tmp) / f"{script.stem}.jsonl"
            extra = QUICK_ARGS.get(script.stem, []) if args.quick else []
            problem = run(script, extra, results)
            found = read(results)
            if problem is None and not found:
                problem = "recorded no figures"
            if problem is not None:
                failed[script.stem] = problem
            figures += found
    print(report(figures, failed, markdown=args.markdown))
    missed = any(figure.verdict == "MISS" for figure in figures)
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
