"""A message's plain text as HTML: the e-mail's HTML part and the pages' view of a message."""

from __future__ import annotations

import re

from markupsafe import escape

from service.notify.templates.html import _escape, as_html, html_alternative
from service.notify.templates.render import render_text
from service.notify.templates.samples import sample_context


def test_html_alternative_escapes_markup_and_links_urls() -> None:
    context = sample_context("announcement")
    context["contact"]["name"] = "<script>alert('x')</script> & Co"
    context["ack_url"] = "https://inspection-week.example.org/ack/a.b.c?x=1&y=2"
    rendered = render_text(
        "announcement",
        "email",
        subject="Hello <b>((contact.name))</b>",
        body="Dear ((contact.name)),\nline two\n\nAcknowledge: ((ack_url)).\n\n"
        "Not a link: javascript:alert(1)",
        context=context,
        drill=False,
    )
    # The text part is plain text: nothing escaped there.
    assert "<script>alert('x')</script> & Co" in rendered.body
    html = rendered.html_body
    assert html is not None
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in html
    assert "<title>Hello &lt;b&gt;" in html
    link = "https://inspection-week.example.org/ack/a.b.c?x=1&amp;y=2"
    assert f'Acknowledge: <a href="{link}">{link}</a>.</p>' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert len(re.findall(r"<p>", html)) == 3
    assert "Co,<br>\nline two</p>" in html


def test_html_alternative_keeps_a_closing_bracket_that_belongs_to_the_url() -> None:
    html = html_alternative("See (https://example.org/wiki/Care_(England)) now")
    assert '<a href="https://example.org/wiki/Care_(England)">' in html
    assert "</a>) now" in html


def test_html_alternative_is_a_whole_document_titled_with_the_subject() -> None:
    assert html_alternative("Hello", title="Inspection announced") == (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        "<title>Inspection announced</title>\n</head>\n"
        '<body style="font-family: Arial, sans-serif; font-size: 19px; line-height: 1.3; '
        'color: #0b0c0c;">\n<p>Hello</p>\n</body>\n</html>\n'
    )


def test_the_pages_get_their_classes_on_paragraphs_and_links() -> None:
    html = as_html(
        "Dear Priya,\nplease acknowledge:\n\n https://iw.example.org/ack/a.b.c?x=1&y=2.\r\n\r\nEnd",
        paragraph_class="govuk-body",
        link_class="govuk-link",
    )
    link = "https://iw.example.org/ack/a.b.c?x=1&amp;y=2"
    assert str(html) == (
        '<p class="govuk-body">Dear Priya,<br>\nplease acknowledge:</p>\n'
        f'<p class="govuk-body"> <a class="govuk-link" href="{link}">{link}</a>.</p>\n'
        '<p class="govuk-body">End</p>'
    )


def test_plain_text_without_classes_is_the_e_mails_paragraphs() -> None:
    assert str(as_html("One\n\n\n\nTwo <3")) == "<p>One</p>\n<p>Two &lt;3</p>"
    assert str(as_html("  \n ")) == ""


def test_escaping_is_markupsafes_character_for_character() -> None:
    """The HTML part escapes plain strings itself (it is built for every e-mail a cascade writes);
    the result must be exactly what markupsafe, which the pages use, would give."""
    samples = [
        "",
        "plain words",
        "<script>alert('x')</script> & \"Co\"",
        "&amp; already escaped &lt;",
        "a > b < c ' d \" e & f",
        "unicode • café 😀 <>",
        "&" * 50 + "'" * 3,
    ]
    for text in samples:
        assert _escape(text) == str(escape(text)), text


def test_the_html_part_of_every_printable_character_and_link_is_markupsafes() -> None:
    """Each printable ASCII character but the space, beside a link and in a link, in a list and
    in a paragraph, comes out as markupsafe escapes it."""
    for code in range(33, 127):
        char = chr(code)
        text = f"a{char}b https://example.org/x{char}y\n\n• item {char}\n  under{char}"
        html = str(as_html(text))
        assert html.startswith(f"<p>a{escape(char)}b <a href=")
        assert f"<li>item {escape(char)}<br>\nunder{escape(char)}</li>" in html
