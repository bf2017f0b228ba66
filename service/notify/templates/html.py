"""A message's plain text as HTML: the e-mail's HTML part, and the outbox and template pages
showing a message. Escaped, a paragraph per blank-line separated block, line breaks kept,
http(s) addresses made into links, so an acknowledgement link can be followed, and the lines of a
list (`• ` and the indented lines under it, as `((tasks))` writes them) a bulleted list."""

from __future__ import annotations

import re

from markupsafe import Markup

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")
BULLET = "• "
UNDER_BULLET = "  "
_SPECIAL = re.compile("[&<>'\"]")


def _escape(text: str) -> str:
    """markupsafe's escaping (the same five characters, the same entities) on a plain str: an
    e-mail's HTML part is built for every message a cascade writes, and a Markup object for each
    piece of each line was most of the cost of rendering it."""
    if not _SPECIAL.search(text):
        return text
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def _anchor(url: str, link_class: str) -> str:
    url = _escape(url)
    if link_class:
        return f'<a class="{_escape(link_class)}" href="{url}">{url}</a>'
    return f'<a href="{url}">{url}</a>'


def _linked(line: str, link_class: str) -> str:
    """Escape a line and turn http(s) URLs into links (trailing punctuation stays outside, a
    closing bracket the URL opened stays inside)."""
    if "://" not in line:
        return _escape(line)
    out: list[str] = []
    position = 0
    for match in _URL.finditer(line):
        url = match.group(0)
        stripped = url.rstrip(_TRAILING)
        if stripped.count("(") > stripped.count(")") and url[len(stripped) :].startswith(")"):
            stripped += ")"
        out.append(_escape(line[position : match.start()]))
        out.append(_anchor(stripped, link_class))
        position = match.start() + len(stripped)
    out.append(_escape(line[position:]))
    return "".join(out)


def _runs(block: str) -> list[tuple[bool, list[list[str]]]]:
    """A block's lines as runs of plain lines (one item each) or of list items (their lines)."""
    runs: list[tuple[bool, list[list[str]]]] = []
    for line in block.split("\n"):
        if line.startswith(BULLET):
            if not runs or not runs[-1][0]:
                runs.append((True, []))
            runs[-1][1].append([line.removeprefix(BULLET)])
        elif line.startswith(UNDER_BULLET) and runs and runs[-1][0]:
            runs[-1][1][-1].append(line.strip())
        elif runs and not runs[-1][0]:
            runs[-1][1][0].append(line)
        else:
            runs.append((False, [[line]]))
    return runs


def as_html(
    text: str, *, paragraph_class: str = "", link_class: str = "", list_class: str = ""
) -> Markup:
    """The text's paragraphs and lists as HTML; the pages pass their GOV.UK classes, an e-mail
    none. Every piece of the text is escaped by `_escape`/`_linked` before it is joined."""
    opening = f'<p class="{_escape(paragraph_class)}">' if paragraph_class else "<p>"
    list_opening = f'<ul class="{_escape(list_class)}">' if list_class else "<ul>"
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    out: list[str] = []
    for block in _PARAGRAPHS.split(normalised):
        if not block.strip():
            continue
        for is_list, items in _runs(block):
            lines = ["<br>\n".join(_linked(line, link_class) for line in item) for item in items]
            if is_list:
                out.append(
                    list_opening
                    + "\n"
                    + "\n".join("<li>" + line + "</li>" for line in lines)
                    + "\n</ul>"
                )
            else:
                out.append(opening + lines[0] + "</p>")
    return Markup("\n".join(out))


def html_alternative(text: str, *, title: str = "") -> str:
    """The e-mail's HTML part, from its rendered text, in a plain GOV.UK-like style."""
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_escape(title)}</title>\n</head>\n"
        '<body style="font-family: Arial, sans-serif; font-size: 19px; line-height: 1.3; '
        f'color: #0b0c0c;">\n{as_html(text)}\n</body>\n</html>\n'
    )
