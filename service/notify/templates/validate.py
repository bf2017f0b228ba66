"""Refusing a council's edit that would fail or mislead when sent, naming the field and the
problem: checked as written (so a misspelt placeholder inside a conditional that is not shown is
still found), then by rendering it with the sample values, in full and sparse."""

from __future__ import annotations

import re

from service.errors import InvalidInput
from service.notify import sms
from service.notify.models import Medium, Purpose
from service.notify.templates.language import TemplateSyntax, parse, placeholders
from service.notify.templates.placeholders import PLACEHOLDERS, known, names
from service.notify.templates.render import (
    SENT_IN_DRILLS,
    RenderError,
    mark_exercise,
    render_text,
)
from service.notify.templates.samples import sample_context, sparse_context

MAX_SUBJECT_CHARACTERS = 500
MAX_BODY_CHARACTERS = 20_000

_OLD_SYNTAX = re.compile(r"\{\{|\{%|\{#")
_OLD_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _refuse_old_syntax(text: str, field: str) -> None:
    """Text written the way templates were written before (Jinja2): it would be sent as it
    stands, braces and all."""
    found = _OLD_SYNTAX.search(text)
    if found is None:
        return
    where = f"line {_line(text, found.start())}"
    simple = _OLD_PLACEHOLDER.match(text, found.start())
    if simple is not None:
        raise InvalidInput(
            field,
            f"{where}: {simple.group(0)} is the old way of writing a placeholder; "
            f"write (({simple.group(1)}))",
        )
    raise InvalidInput(
        field,
        f"{where}: {{{{ }}}} and {{% %}} are the old way of writing templates; write a "
        "placeholder as ((contact.name)) and words shown only when a placeholder has a value "
        "as ((inspection.lead_inspector??The lead inspector is ((inspection.lead_inspector)).))",
    )


def _unknown(written: str, purpose: Purpose) -> str:
    return f"unknown placeholder (({written})); {purpose.value} templates may use: " + ", ".join(
        f"(({name}))" for name in PLACEHOLDERS[purpose]
    )


def _check_written(text: str, field: str, purpose: Purpose) -> None:
    _refuse_old_syntax(text, field)
    try:
        parts = parse(text)
    except TemplateSyntax as exc:
        raise InvalidInput(field, str(exc)) from None
    allowed = names(purpose)
    for placeholder in placeholders(parts):
        if placeholder.key not in allowed:
            raise InvalidInput(
                field, f"line {placeholder.line}: " + _unknown(placeholder.written, purpose)
            )


def validate(purpose: Purpose | str, medium: Medium | str, subject: str | None, body: str) -> None:
    """Refuse, naming the field, a template that would fail or mislead when sent: unknown
    placeholders (including misspelt fields such as `contact.nmae`, shown or not), brackets that
    do not make a placeholder and the old `{{ }}` syntax (with the line), an empty body, an e-mail
    without a subject, a subject on an SMS, a message longer than rendering allows, and an SMS
    longer than Notify sends (918 characters) with the sample values."""
    purpose, medium = known(purpose, medium)
    subject = subject or ""
    if medium is Medium.email and not subject.strip():
        raise InvalidInput("subject", "an e-mail needs a subject")
    if medium is Medium.sms and subject.strip():
        raise InvalidInput("subject", "a text message has no subject; leave it empty")
    if not body.strip():
        raise InvalidInput("body", "must not be empty")
    for field, text, limit in (
        ("subject", subject, MAX_SUBJECT_CHARACTERS),
        ("body", body, MAX_BODY_CHARACTERS),
    ):
        if "\x00" in text:
            raise InvalidInput(field, "must not contain NUL characters")
        if len(text) > limit:
            raise InvalidInput(field, f"must be at most {limit} characters")
    for field, text in (("subject", subject), ("body", body)):
        _check_written(text, field, purpose)
    # A drill, and an escalation sent during one, carry the EXERCISE prefix: count it.
    prefixed = purpose in SENT_IN_DRILLS
    for context in (sample_context(purpose), sparse_context(purpose)):
        try:
            rendered = render_text(
                purpose, medium, subject=subject, body=body, context=context, drill=False
            )
        except RenderError as exc:
            raise InvalidInput(exc.field, exc.message.removeprefix(f"{exc.field}: ")) from None
        if not rendered.body.strip():
            raise InvalidInput("body", "renders as an empty message with the sample values")
        if medium is Medium.email and not rendered.subject.strip():
            raise InvalidInput("subject", "renders as an empty subject with the sample values")
        if medium is Medium.sms:
            characters = sms.characters(mark_exercise(rendered.body) if prefixed else rendered.body)
            if characters > sms.MAX_CHARACTERS:
                raise InvalidInput(
                    "body",
                    f"renders to {characters} characters with the sample values"
                    + (" and the 'EXERCISE: ' prefix of a rehearsal" if prefixed else "")
                    + f"; a text message can have at most {sms.MAX_CHARACTERS}",
                )
