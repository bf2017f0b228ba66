"""Run every benchmark in bench/ (each `*.py` but this one) and print their tables in turn.

    .venv/bin/python bench/run_all.py

Each script runs with its defaults, under the same interpreter, one after another (never in
parallel, so they do not disturb each other's timings). Exits non-zero when any script fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def scripts() -> list[Path]:
    return sorted(
        path
        for path in BENCH_DIR.glob("*.py")
        if path.name != Path(__file__).name and not path.name.startswith("_")
    )


def main() -> int:
    failed: list[str] = []
    for script in scripts():
        title = f"bench/{script.name}"
        print(f"=== {title} " + "=" * max(0, 74 - len(title)), flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent)
        took = time.monotonic() - started
        if done.returncode != 0:
            failed.append(script.name)
            print(f"--- {title} failed with exit code {done.returncode} ({took:.1f} s)")
        else:
            print(f"--- {title} done in {took:.1f} s")
        print(flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
