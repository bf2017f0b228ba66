"""Print the map of imports between the service's packages and count the arrows that run back up.

A package's `flows` module is counted as the layer above the domains (flows call services), so
`inspections.flows -> plan` is an arrow down, while `plan -> inspections.flows` would run up.
Layers, top to bottom, as the README's map and `.importlinter` give them. Usage:
    .venv/bin/python scripts/import_map.py [--at GIT-REF]
`--at` reads the package from a git commit instead of the work tree (to compare before/after)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import grimp

LAYERS = [
    {"main", "cli", "first_start"},
    {"api"},
    {"flows"},
    {"plan", "cascade"},
    {"inspections"},
    {"contacts", "users"},
    {"notify", "scheduler"},
    {"rules"},
    {"calendar", "frameworks", "timeline", "audit_log", "signed_links", "api_keys"},
    # names before the architecture pass, so that an old commit can be measured too
    {"working_days", "audit", "acks", "idempotency"},
    {"secrets", "request_models", "errors", "logs", "config", "migrate"},
    {"db"},
]
RANK = {name: depth for depth, names in enumerate(LAYERS) for name in names}


def unit(module: str) -> str:
    """`service.plan.flows` -> `flows:plan`; `service.plan.tasks` -> `plan`."""
    parts = module.split(".")
    if len(parts) < 2:
        return "service"
    if len(parts) >= 3 and parts[2] == "flows":
        return f"flows:{parts[1]}"
    return parts[1]


def rank(name: str) -> int | None:
    return RANK.get("flows" if name.startswith("flows:") else name)


def arrows(root: Path) -> dict[tuple[str, str], int]:
    sys.path.insert(0, str(root))
    graph = grimp.build_graph("service", cache_dir=None, exclude_type_checking_imports=True)
    found: dict[tuple[str, str], int] = defaultdict(int)
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = unit(importer), unit(imported)
            if a != b and "service" not in (a, b) and "models" not in (a, b):
                found[(a, b)] += 1
    return dict(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--at", help="a git ref to read the package from")
    args = parser.parse_args()
    if args.at:
        tmp = Path(tempfile.mkdtemp())
        archive = subprocess.run(
            ["git", "archive", args.at, "service"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        root = tmp
    else:
        root = Path(__file__).resolve().parent.parent
    found = arrows(root)
    back = []
    for (a, b), count in sorted(found.items()):
        ra, rb = rank(a), rank(b)
        if ra is not None and rb is not None and ra != rb:
            up = rb < ra  # an import of a higher layer
        else:  # same layer (or a name not in the map): a pair importing each other, once
            up = (
                (b, a) in found
                and a > b
                and not (a.startswith("flows:") and b.startswith("flows:"))
            )
        if up:
            back.append((a, b))
        print(f"{'UP ' if up else '   '}{a:>20} -> {b:<20} {count:3d} import(s)")
    print(f"\n{len(found)} arrows between packages; {len(back)} run back up:")
    for a, b in back:
        print(f"  {a} -> {b}")


if __name__ == "__main__":
    main()
