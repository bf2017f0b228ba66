"""What a form page needs to show errors the GOV.UK way: a summary at the top whose links move
focus to each field (`href="#field-id"`), and the same message beside the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Form:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    """Field name to the id of its input, where they differ (radios link to the first)."""

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def id_of(self, name: str) -> str:
        return self.ids.get(name, name.replace("_", "-"))

    def message(self, name: str) -> dict[str, str] | None:
        """The `errorMessage` option of a GOV.UK Frontend macro (None: no error)."""
        text = self.errors.get(name)
        return {"text": text} if text else None

    @property
    def error_list(self) -> list[dict[str, str]]:
        """The `errorList` option of govukErrorSummary, in the order the fields appear."""
        return [{"text": text, "href": f"#{self.id_of(n)}"} for n, text in self.errors.items()]

    def add(self, name: str, text: str) -> None:
        self.errors.setdefault(name, text)

    def __bool__(self) -> bool:
        return True


DATE_PARTS = (("day", 2), ("month", 2), ("year", 4))
"""A GOV.UK date input's boxes and the most digits each takes."""


def read_date(form: Form, name: str, *, missing: str, label: str) -> date | None:
    """A GOV.UK date input (`{name}-day`, `-month`, `-year`) as a date, or None with the field's
    error. Each box is checked for digits and length before any arithmetic, so a number of any
    size is "not a real date", never an OverflowError."""
    parts = [form.value(f"{name}-{part}").strip() for part, _ in DATE_PARTS]
    if not all(parts):
        form.add(name, missing)
        return None
    digits = all(
        text.isascii() and text.isdigit() and len(text) <= most
        for text, (_, most) in zip(parts, DATE_PARTS, strict=True)
    )
    if digits and len(parts[2]) != 4:
        form.add(name, f"{label} must include a year with 4 numbers, for example 2026")
        return None
    try:
        day, month, year = (int(text) for text in parts)
        if not digits:
            raise ValueError
        return date(year, month, day)
    except ValueError:
        form.add(name, f"{label} must be a real date")
        return None
