"""The template language: GOV.UK Notify's, which council staff already write.

`((contact.name))` is a placeholder; `((ack_url??Please acknowledge.))` shows its text only when
the placeholder has a value. Names match as Notify matches personalisation (notifications-utils,
`InsensitiveDict`): case, white space, underscores and hyphens are ignored, so
`((Inspection.Lead Inspector))` is `((inspection.lead_inspector))`. Brackets follow Notify's
`Field.placeholder_pattern`: `(((contact.name)))` is a placeholder in brackets, and no single
bracket may appear inside `((...))`.

One step beyond Notify: the text of a conditional may hold placeholders (never another
conditional), `((inspection.lead_inspector??The lead inspector is ((inspection.lead_inspector)).))`,
so an optional sentence can name its value.

There are no loops and no expressions. Parsing is one pass over the text (a regular expression
whose alternatives start with different characters, so it never backtracks) and filling is one
pass over the parts, stopping as soon as the output passes its limit: the work is bounded by the
template's length plus the output's, and both are capped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

_RUNS = re.compile(r"\(+|\)+|[^()]+")
_IGNORED_IN_NAMES = str.maketrans("", "", "_-")
_NOT_CLOSED = "(( is not closed: a placeholder ends with ))"

EMPTY = "\ue000"
"""Marks where a placeholder filled in nothing, so a line holding nothing else can be left out;
a private-use character, taken out of templates and values, never sent."""


class TemplateSyntax(ValueError):
    """Text that is not a template: `line` is where the problem starts (1 for the first)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def normalise(name: str) -> str:
    """A placeholder's name as it is matched: no white space, underscores or hyphens, lower case
    (what Notify's InsensitiveDict.make_key does, white space of any kind included)."""
    return "".join(name.split()).translate(_IGNORED_IN_NAMES).lower()


@dataclass(frozen=True)
class Placeholder:
    written: str
    """The name as the template writes it, for messages about it."""
    key: str
    """The name as it is matched (`normalise`)."""
    line: int
    text: tuple[str | Placeholder, ...] | None = None
    """A conditional's text (words and placeholders); None for a plain placeholder."""

    def __str__(self) -> str:
        return f"(({self.written}))"


Part = str | Placeholder


class _Open:
    """A `((` not yet closed: what has been read inside it."""

    def __init__(self, line: int):
        self.line = line
        self.parts: list[Part] = []

    @property
    def conditional(self) -> bool:
        return bool(self.parts) and isinstance(self.parts[0], str) and "??" in self.parts[0]

    def close(self, *, inner: bool) -> Placeholder:
        first = self.parts[0] if self.parts and isinstance(self.parts[0], str) else ""
        name, is_conditional, text = first.partition("??")
        if not name.strip():
            raise TemplateSyntax(self.line, "(( )) needs a placeholder's name inside")
        if is_conditional and inner:
            raise TemplateSyntax(
                self.line, f"(({name.strip()}??...)) cannot go inside another ((...??...))"
            )
        placeholder = Placeholder(
            written=" ".join(name.split()), key=normalise(name), line=self.line
        )
        if not is_conditional:
            return placeholder
        parts = tuple(part for part in (text, *self.parts[1:]) if part != "")
        return Placeholder(placeholder.written, placeholder.key, self.line, parts)


def _merged(parts: list[Part]) -> tuple[Part, ...]:
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return tuple(merged)


@lru_cache(maxsize=256)
def parse(source: str) -> tuple[Part, ...]:
    """The template's words and placeholders, in order; TemplateSyntax for a `((` without its
    `))` (or the other way round), a bracket inside `((...))` or a conditional inside another.
    Kept: a cascade fills the same few templates thousands of times."""
    source = source.replace(EMPTY, "")
    top: list[Part] = []
    opened: list[_Open] = []
    line = 1

    def add(part: Part) -> None:
        (opened[-1].parts if opened else top).append(part)

    for match in _RUNS.finditer(source):
        run = match.group()
        if run[0] == "(":
            single = len(run) - 2 if len(run) >= 2 else 1
            if single and opened:
                raise TemplateSyntax(line, "a bracket cannot go inside ((...))")
            if single >= 2:
                raise TemplateSyntax(line, "(( opens a placeholder: write (( only before a name")
            if single:
                add("(")
            if len(run) >= 2:
                if opened and (len(opened) == 2 or not opened[-1].conditional):
                    raise TemplateSyntax(
                        line, "a placeholder can go inside ((name??...)) only, after the ??"
                    )
                opened.append(_Open(line))
        elif run[0] == ")":
            left = len(run)
            while left >= 2 and opened:
                closed = opened.pop().close(inner=bool(opened))
                add(closed)
                left -= 2
            if left and opened:
                raise TemplateSyntax(opened[-1].line, _NOT_CLOSED)
            if left >= 2:
                raise TemplateSyntax(line, ")) closes no placeholder: it needs (( before it")
            if left:
                add(")")
        else:
            add(run)
        line += run.count("\n")
    if opened:
        raise TemplateSyntax(opened[0].line, _NOT_CLOSED)
    return _merged(top)


def placeholders(parts: tuple[Part, ...]) -> Iterator[Placeholder]:
    """Every placeholder written, those inside conditionals included (shown or not)."""
    for part in parts:
        if isinstance(part, Placeholder):
            yield part
            if part.text is not None:
                yield from (inner for inner in part.text if isinstance(inner, Placeholder))


class Values(Protocol):
    """What fills a template: a placeholder's text, and whether a conditional is shown."""

    def text(self, placeholder: Placeholder) -> str: ...

    def shown(self, placeholder: Placeholder) -> bool: ...


class TooLong(ValueError):
    def __init__(self, limit: int):
        super().__init__(f"renders to more than {limit} characters")
        self.limit = limit


def fill(parts: tuple[Part, ...], values: Values, *, limit: int) -> str:
    """The template filled in, in one pass, stopping with TooLong as soon as the output passes
    `limit` characters. A line that holds only placeholders which all fill in nothing is left
    out, so an optional line leaves no gap (Notify would leave a blank line)."""
    out: list[str] = []
    size = 0

    def add(text: str) -> None:
        nonlocal size
        size += len(text)
        if size > limit:
            raise TooLong(limit)
        out.append(text)

    for part in parts:
        if isinstance(part, str):
            add(part)
        elif part.text is None:
            add(values.text(part).replace(EMPTY, "") or EMPTY)
        elif values.shown(part):
            for inner in part.text:
                add(
                    inner
                    if isinstance(inner, str)
                    else values.text(inner).replace(EMPTY, "") or EMPTY
                )
        else:
            add(EMPTY)
    text = "".join(out)
    if EMPTY not in text:
        return text
    return "\n".join(
        line for line in text.split("\n") if EMPTY not in line or line.replace(EMPTY, "").strip()
    ).replace(EMPTY, "")
