"""What a form page needs to show errors the GOV.UK way: a summary at the top whose links move
focus to each field (`href="#field-id"`), and the same message beside the field."""

from __future__ import annotations

from dataclasses import dataclass, field


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
