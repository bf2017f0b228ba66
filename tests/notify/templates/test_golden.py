"""Golden files: every shipped template rendered with the sample values, kept under `golden/`,
so a change to a template's wording, or to how templates render, is a diff someone reads.

One file per purpose and medium (`announcement.email.txt`: a `Subject:` line, a blank line, the
body; `.sms.txt`: the text), the e-mail's HTML part beside it (`.email.html`), and the same for
the messages a drill sends, marked (`escalation.email.drill.txt`; the rehearsal's own templates
are always marked). After an intended change, rewrite them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest -p no:cacheprovider tests/notify/templates/test_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from service.notify.models import Medium, Purpose
from service.notify.templates.render import SENT_IN_DRILLS, Rendered, render_text
from service.notify.templates.samples import sample_context
from service.notify.templates.store import default

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = [(purpose, medium, False) for purpose in Purpose for medium in Medium] + [
    (purpose, medium, True)
    for purpose in sorted(SENT_IN_DRILLS - {Purpose.drill})
    for medium in Medium
]


def _stem(purpose: Purpose, medium: Medium, drill: bool) -> str:
    return f"{purpose.value}.{medium.value}" + (".drill" if drill else "")


def _rendered(purpose: Purpose, medium: Medium, drill: bool) -> Rendered:
    template = default(purpose, medium)
    return render_text(
        purpose,
        medium,
        subject=template.subject,
        body=template.body,
        context=sample_context(purpose),
        drill=drill,
    )


def _text(rendered: Rendered, medium: Medium) -> str:
    if medium is Medium.email:
        return f"Subject: {rendered.subject}\n\n{rendered.body}\n"
    return f"{rendered.body}\n"


def _expected(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    if not path.exists():
        pytest.fail(f"{shown} is missing; UPDATE_GOLDEN=1 writes it", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=str(shown),
                tofile="rendered now",
            )
        )
        pytest.fail(
            f"{shown} is not what the template renders (UPDATE_GOLDEN=1 rewrites it):\n{diff}",
            pytrace=False,
        )


@pytest.mark.parametrize(
    ("purpose", "medium", "drill"), CASES, ids=[_stem(*case) for case in CASES]
)
def test_the_shipped_template_renders_as_its_golden_file(
    purpose: Purpose, medium: Medium, drill: bool
) -> None:
    rendered = _rendered(purpose, medium, drill)
    _expected(f"{_stem(purpose, medium, drill)}.txt", _text(rendered, medium))
    if rendered.html_body is not None:
        _expected(f"{_stem(purpose, medium, drill)}.html", rendered.html_body)


def test_every_golden_file_belongs_to_a_shipped_template() -> None:
    made = {f"{_stem(*case)}.{ext}" for case in CASES for ext in ("txt", "html")}
    left_over = sorted(path.name for path in GOLDEN.iterdir() if path.name not in made)
    assert left_over == [], f"no shipped template renders these: {left_over}"
