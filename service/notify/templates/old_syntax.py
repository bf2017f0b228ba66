"""Councils' edits written before templates used GOV.UK Notify's language, when they were Jinja2
(`{{ contact.name }}`, `{% if ... %}`): what converts mechanically, for the migration that moves
stored edits over (migrations/versions/0006_templates_in_notify_syntax.py).

`{{ name }}` becomes `((name))`, and `{% if name %}words{% endif %}` (words and plain
placeholders, no brackets) becomes `((name??words))`, after Jinja's own white-space rules
(`trim_blocks`, `lstrip_blocks`, as the old renderer ran) so the message reads as it did. Loops,
filters, `else`, comparisons and the like have no mechanical equivalent: such an edit is not
converted, and says why. A converted edit must then pass today's validation."""

from __future__ import annotations

import re

from service.errors import InvalidInput
from service.notify.templates.validate import validate

_BLOCK_INDENT = re.compile(r"^[ \t]+(?=\{[%#])", re.MULTILINE)
_AFTER_BLOCK = re.compile(r"([%#]\})\n")
_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#.*?#\}", re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_PLAIN = re.compile(rf"\s*({_NAME})\s*")
_IF = re.compile(rf"\s*if\s+({_NAME})\s*")
_ENDIF = re.compile(r"\s*endif\s*")


class NotConvertible(ValueError):
    """The edit uses something the new language has no mechanical equivalent for."""


def _jinja_white_space(source: str) -> str:
    """What Jinja did with `lstrip_blocks` and `trim_blocks`: a block tag's indent, and the one
    newline after it, were never part of the message."""
    return _AFTER_BLOCK.sub(r"\1", _BLOCK_INDENT.sub("", source))


def _words(text: str, *, in_condition: bool) -> str:
    if "((" in text or "))" in text:
        raise NotConvertible("it has (( or )) in its words")
    if in_condition and ("(" in text or ")" in text):
        raise NotConvertible("a condition's words have brackets")
    return text


def convert_text(source: str) -> str:
    """The text in the new language; NotConvertible saying what stands in the way."""
    out: list[str] = []
    condition: tuple[str, list[str]] | None = None
    position = 0
    source = _jinja_white_space(source)
    for tag in _TAG.finditer(source):
        words = _words(source[position : tag.start()], in_condition=condition is not None)
        (condition[1] if condition else out).append(words)
        position = tag.end()
        placeholder, block = tag.group(1), tag.group(2)
        if placeholder is not None:
            plain = _PLAIN.fullmatch(placeholder)
            if plain is None:
                raise NotConvertible(f"{tag.group(0).strip()} is more than a placeholder")
            (condition[1] if condition else out).append(f"(({plain.group(1)}))")
        elif block is None:
            continue  # a {# comment #}
        elif (opening := _IF.fullmatch(block)) is not None:
            if condition is not None:
                raise NotConvertible("it has a condition inside a condition")
            condition = (opening.group(1), [])
        elif _ENDIF.fullmatch(block) and condition is not None:
            out.append(f"(({condition[0]}??{''.join(condition[1])}))")
            condition = None
        else:
            raise NotConvertible(f"{{%{block}%}} has no equivalent")
    if condition is not None:
        raise NotConvertible(f"{{% if {condition[0]} %}} has no {{% endif %}}")
    out.append(_words(source[position:], in_condition=False))
    return "".join(out)


def convert(purpose: str, medium: str, subject: str, body: str) -> tuple[str, str]:
    """A stored edit's subject and body in the new language, validated as a save would be;
    NotConvertible saying why when it cannot be."""
    converted = convert_text(subject), convert_text(body)
    try:
        validate(purpose, medium, converted[0], converted[1])
    except InvalidInput as exc:
        raise NotConvertible(f"converted, its {exc.field} is refused: {exc.message}") from None
    return converted
