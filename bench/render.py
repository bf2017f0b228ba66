"""Rendering one message: the shipped wording against the worst a coordinator can save.

Templates are GOV.UK Notify's language (service/notify/templates/language.py): no loops, no
expressions, one pass over the template. The outbox renders inside the transaction that writes
the message (announce, an acknowledgement, a closed window), so what one render can cost is what
a saved template can add to the time that transaction holds the database. This bench times, in
this process, rendering for the sample person with the sample values:

- baseline: the shipped announcement e-mail;
- the shipped digest e-mail listing 50 tasks (the longest list an e-mail shows);
- the largest template validation accepts: 20,000 characters of placeholders filling in to just
  under the 50,000-character limit;
- templates validation refuses (refusal is what a preview or a save of them costs): every list
  placeholder past the output limit, and brackets only.

Each figure is the median of `--repeat` renders: cold (the parse cache emptied first, as for a
preview of new text) and warm (parsed already, as the outbox renders a template for the second
person and every one after), with the peak memory of one cold render (tracemalloc) and the cold
ratio to the baseline. The claim is a bound, not a speed: every case, refusals included, within
50 ms and 10 MB; the last line says `PASS` or `MISS`, and how long a steering group of 20 sent
the largest accepted template takes to render.

    .venv/bin/python bench/render.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import record  # noqa: E402

from service.errors import InvalidInput  # noqa: E402
from service.notify.models import Medium, Purpose  # noqa: E402
from service.notify.templates.language import parse  # noqa: E402
from service.notify.templates.preview import preview  # noqa: E402
from service.notify.templates.render import RenderError, render_text  # noqa: E402
from service.notify.templates.samples import SAMPLE_BASE_URL, sample_context  # noqa: E402
from service.notify.templates.store import default  # noqa: E402
from service.notify.templates.validate import MAX_BODY_CHARACTERS, validate  # noqa: E402

WORST_MS = 50.0
WORST_MB = 10.0


def shipped(purpose: Purpose, context: dict[str, Any]) -> Callable[[], object]:
    template = default(purpose, Medium.email)
    return lambda: render_text(
        purpose,
        Medium.email,
        subject=template.subject,
        body=template.body,
        context=context,
        drill=False,
    )


def largest_accepted() -> str:
    """The most `((inspection.framework_name))` an e-mail body can hold and still be saved."""
    unit = "((inspection.framework_name)) "
    fits = MAX_BODY_CHARACTERS // len(unit)
    while fits:
        body = unit * fits
        try:
            validate(Purpose.announcement, Medium.email, "Hi", body)
            return body
        except InvalidInput:
            fits -= 1
    raise SystemExit("no template of that shape is accepted")


def refused(body: str, purpose: Purpose) -> Callable[[], object]:
    def attempt() -> object:
        try:
            return preview(
                purpose,
                Medium.email,
                subject="Hi",
                body=body,
                contact=None,
                council_name="Northbridge Borough Council",
                base_url=SAMPLE_BASE_URL,
                unsaved=True,
            )
        except (InvalidInput, RenderError) as exc:
            return exc

    return attempt


def measure(render: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median cold and warm milliseconds over `repeat` renders, and one cold render's peak
    memory in MB."""
    cold, warm = [], []
    for _ in range(repeat):
        parse.cache_clear()
        started = time.perf_counter()
        render()
        cold.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        render()
        warm.append((time.perf_counter() - started) * 1000)
    parse.cache_clear()
    tracemalloc.start()
    render()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return statistics.median(cold), statistics.median(warm), peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    repeat = parser.parse_args().repeat

    digest = sample_context(Purpose.task_digest)
    digest["tasks"] = [digest["tasks"][n % 2] for n in range(50)]
    largest = largest_accepted()
    cases: list[tuple[str, Callable[[], object]]] = [
        (
            "shipped announcement e-mail (baseline)",
            shipped(Purpose.announcement, sample_context(Purpose.announcement)),
        ),
        ("shipped digest e-mail, 50 tasks", shipped(Purpose.task_digest, digest)),
        (
            f"largest accepted: {len(largest):,} characters",
            lambda: render_text(
                Purpose.announcement,
                Medium.email,
                subject="Hi",
                body=largest,
                context=sample_context(Purpose.announcement),
                drill=False,
            ),
        ),
        ("refused: ((tasks)) x 2,222 (preview)", refused("((tasks))" * 2_222, Purpose.task_digest)),
        ("refused: (( x 10,000 (preview)", refused("((" * 10_000, Purpose.announcement)),
    ]
    rows = [(name, *measure(render, repeat)) for name, render in cases]
    baseline = rows[0][1]
    print(f"{'case':<44} {'cold ms':>8} {'warm ms':>8} {'x base':>7} {'peak MB':>8}")
    for name, cold, warm, mb in rows:
        print(f"{name:<44} {cold:>8.3f} {warm:>8.3f} {cold / baseline:>7.1f} {mb:>8.2f}")
    worst_ms = max(cold for _, cold, _, _ in rows)
    worst_mb = max(mb for _, _, _, mb in rows)
    record(
        "render",
        "-",
        "worst case, cold render",
        worst_ms,
        "ms",
        target=WORST_MS,
        baseline=baseline,
        higher_is_better=False,
    )
    record(
        "render",
        "-",
        "worst case, peak memory",
        worst_mb,
        "MB",
        target=WORST_MB,
        baseline=rows[0][3],
        higher_is_better=False,
    )
    group = rows[2][1] + 19 * rows[2][2]
    print(f"a steering group of 20 sent the largest accepted template: {group:.1f} ms to render")
    verdict = "PASS" if worst_ms < WORST_MS and worst_mb < WORST_MB else "MISS"
    print(
        f"worst case {worst_ms:.2f} ms, {worst_mb:.2f} MB "
        f"(bound {WORST_MS:.0f} ms and {WORST_MB:.0f} MB): {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
