"""The template language (Notify's): placeholders, conditionals, brackets, names matched as
Notify matches them, lines left out when all they held was empty, and the output limit."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from service.notify.templates.language import (
    Placeholder,
    TemplateSyntax,
    TooLong,
    fill,
    normalise,
    parse,
    placeholders,
)

pytestmark = pytest.mark.sqlite_only


class Plain:
    """Values by normalised name; counts what is looked up, to show each is read once a part."""

    def __init__(self, values: Mapping[str, str]):
        self.values = {normalise(name): value for name, value in values.items()}
        self.asked = 0

    def text(self, placeholder: Placeholder) -> str:
        self.asked += 1
        return self.values[placeholder.key]

    def shown(self, placeholder: Placeholder) -> bool:
        return bool(self.values[placeholder.key])


def filled(source: str, limit: int = 10_000, **values: str) -> str:
    return fill(parse(source), Plain(values), limit=limit)


def test_a_placeholder_is_filled_in_where_it_is_written() -> None:
    assert filled("Dear ((name)), hello", name="Priya") == "Dear Priya, hello"


@pytest.mark.parametrize(
    "written",
    ["((lead_inspector))", "((Lead Inspector))", "((LEAD-INSPECTOR))", "(( lead\tinspector ))"],
)
def test_names_match_ignoring_case_spaces_underscores_and_hyphens_as_notify_does(
    written: str,
) -> None:
    assert filled(written, lead_inspector="Harriet Oyelaran") == "Harriet Oyelaran"


def test_a_conditional_shows_its_words_only_when_the_value_is_not_empty() -> None:
    source = "Hello((role??, you are on the rota)). Bye"
    assert filled(source, role="Team Manager") == "Hello, you are on the rota. Bye"
    assert filled(source, role="") == "Hello. Bye"


def test_a_conditional_may_name_placeholders_in_its_words() -> None:
    source = "((lead??The lead inspector is ((lead)).))"
    assert filled(source, lead="Harriet Oyelaran") == "The lead inspector is Harriet Oyelaran."
    assert filled(source, lead="") == ""


def test_brackets_around_a_placeholder_stay_as_notify_keeps_them() -> None:
    assert filled('"Book the room" (((owner)))', owner="Gareth") == '"Book the room" (Gareth)'
    assert filled("(see below) ((name))", name="Priya") == "(see below) Priya"


def test_a_line_holding_only_empty_placeholders_is_left_out() -> None:
    source = "One\n((lead??Lead: ((lead))))\n((role))\nTwo ((role))\nThree"
    assert filled(source, lead="", role="") == "One\nTwo \nThree"
    assert filled(source, lead="Hal", role="x") == "One\nLead: Hal\nx\nTwo x\nThree"


def test_a_shown_conditional_drops_a_line_of_its_own_that_is_empty() -> None:
    assert filled("((a??Heading\n((b))\nEnd))", a="yes", b="") == "Heading\nEnd"


def test_every_placeholder_is_listed_shown_or_not() -> None:
    parts = parse("((a)) ((b??x ((c)) y)) ((d))")
    assert [p.written for p in placeholders(parts)] == ["a", "b", "c", "d"]
    assert [p.line for p in placeholders(parse("x\n\n((a))"))] == [3]


@pytest.mark.parametrize(
    ("source", "line", "says"),
    [
        ("Dear ((contact.name)", 1, "not closed"),
        ("Dear\n((contact.name", 2, "not closed"),
        ("Dear (contact.name))", 1, "closes no placeholder"),
        ("((a??x ((b??y))))", 1, "cannot go inside another"),
        ("((a ((b))))", 1, "only, after the ??"),
        ("((a??x (b)))", 1, "bracket cannot go inside"),
        ("((((a))))", 1, "opens a placeholder"),
        ("(( ))", 1, "needs a placeholder's name"),
        ("((??words))", 1, "needs a placeholder's name"),
        ("one\ntwo\n((a??x\n((b))", 3, "not closed"),
    ],
)
def test_text_that_is_not_a_template_is_refused_with_its_line(
    source: str, line: int, says: str
) -> None:
    with pytest.raises(TemplateSyntax) as caught:
        parse(source)
    assert caught.value.line == line and says in caught.value.message


def test_each_placeholder_is_read_once_per_time_it_is_written() -> None:
    values = Plain({"name": "Priya"})
    fill(parse("((name)) " * 50), values, limit=10_000)
    assert values.asked == 50


def test_filling_stops_as_soon_as_the_output_passes_its_limit() -> None:
    values = Plain({"list": "x" * 40_000})
    with pytest.raises(TooLong) as caught:
        fill(parse("((list))" * 2_000), values, limit=50_000)
    assert caught.value.limit == 50_000
    assert values.asked == 2  # not 2,000: the second already passes the limit


def test_the_empty_line_marker_never_reaches_a_message() -> None:
    assert filled("a\ue000b ((x))", x="y\ue000z") == "ab yz"
