"""The benchmark table: figures recorded by a script come back as one table with the right
verdict, ratio and notes, as text and as Markdown. No real bench runs here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run_all = load("run_all")
results = load("_results")


@pytest.fixture
def fake_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "results.jsonl"
    monkeypatch.setenv("BENCH_RESULTS", str(path))
    results.record(
        "announce",
        "sqlite",
        "announce p50",
        12.5,
        "ms",
        target=50,
        baseline=2.5,
        higher_is_better=False,
    )
    results.record(
        "webhooks",
        "sqlite",
        "deliveries a second",
        400,
        "/s",
        target=500,
        baseline=800,
        why="one connection per receiver",
    )
    results.record(
        "scheduler", "postgresql", "lateness p99", 2.5, "s", target=2.0, higher_is_better=False
    )
    results.record("render", "sqlite", "largest template", 3.0, "ms")
    results.record(
        "pages",
        "sqlite",
        "dashboard p50",
        float("nan"),
        "ms",
        target=300,
        higher_is_better=False,
        why="server did not start",
    )
    return path


def test_verdicts_and_ratios_from_a_results_file(fake_results: Path) -> None:
    figures = run_all.read(fake_results)
    assert [f.verdict for f in figures] == ["PASS", "MISS", "MISS", "-", "MISS"]
    assert figures[0].ratio == pytest.approx(5.0)
    assert figures[1].ratio == pytest.approx(0.5)
    assert figures[2].ratio is None  # no baseline
    assert figures[4].ratio is None  # not measured


def test_a_target_met_exactly_passes_on_either_side() -> None:
    low = results.Figure("b", "sqlite", "p99", 2.0, "s", target=2.0, higher_is_better=False)
    high = results.Figure("b", "sqlite", "rate", 500, "/s", target=500)
    assert (low.verdict, high.verdict) == ("PASS", "PASS")


def test_text_table_has_one_row_per_figure_and_notes_for_misses(fake_results: Path) -> None:
    text = run_all.report(
        run_all.read(fake_results), {"hostile": "failed with exit code 1"}, markdown=False
    )
    lines = text.splitlines()
    assert lines[0].split() == [
        "bench",
        "backend",
        "figure",
        "value",
        "target",
        "baseline",
        "ratio",
        "PASS/MISS",
    ]
    row = next(line for line in lines if line.startswith("announce"))
    assert row.split()[-1] == "PASS" and "<= 50.00 ms" in row and "5.00x" in row
    notes = text.split("Notes:")[1]
    assert "webhooks sqlite deliveries a second: MISS: one connection per receiver" in notes
    assert "scheduler postgresql lateness p99: MISS" in notes
    assert "pages sqlite dashboard p50: MISS: server did not start" in notes
    assert "hostile: failed with exit code 1" in notes
    assert "announce" not in notes and "render" not in notes


def test_markdown_table(fake_results: Path) -> None:
    text = run_all.report(run_all.read(fake_results), {}, markdown=True)
    lines = text.splitlines()
    assert lines[0] == (
        "| bench | backend | figure | value | target | baseline | ratio | PASS/MISS |"
    )
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    assert lines[2] == (
        "| announce | sqlite | announce p50 | 12.50 ms | <= 50.00 ms | 2.50 ms | 5.00x | PASS |"
    )
    assert "| render | sqlite | largest template | 3.00 ms | - | - | - | - |" in lines
    assert "| not measured |" in lines[6]
    assert "- webhooks sqlite deliveries a second: MISS: one connection per receiver" in lines


def test_a_script_run_with_bench_results_hands_its_figures_back(tmp_path: Path) -> None:
    """The protocol end to end: run_all runs a script with BENCH_RESULTS set and reads it."""
    script = tmp_path / "fake.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(BENCH_DIR)!r})\n"
        "from _results import record\n"
        "record('fake', 'sqlite', 'rate', 10, '/s', target=5, baseline=20)\n"
    )
    out = tmp_path / "fake.jsonl"
    assert run_all.run(script, [], out) is None
    [figure] = run_all.read(out)
    assert (figure.bench, figure.value, figure.verdict, figure.ratio) == ("fake", 10, "PASS", 0.5)
    script.write_text("raise SystemExit(3)\n")
    assert run_all.run(script, [], tmp_path / "none.jsonl") == "failed with exit code 3"


def test_run_all_runs_every_bench_but_not_the_relay_that_runs_until_stopped() -> None:
    names = [path.name for path in run_all.scripts()]
    assert "db_hop.py" not in names and "run_all.py" not in names
    assert {"cascade.py", "releases.py", "scheduler.py"} <= set(names)
