"""A message's plain text as HTML for the pages (the outbox and the template preview): escaped,
a paragraph per blank-line block, line breaks kept, and http(s) addresses as links, so that an
acknowledgement link in a stored message can be followed from the page."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_BLOCKS = re.compile(r"\n[ \t]*\n+")


def _linked(line: str) -> Markup:
    out: list[Markup] = []
    position = 0
    for match in _URL.finditer(line):
        url = match.group(0).rstrip(_TRAILING)
        out.append(escape(line[position : match.start()]))
        out.append(Markup('<a class="govuk-link" href="{0}">{0}</a>').format(url))
        position = match.start() + len(url)
    out.append(escape(line[position:]))
    return Markup("").join(out)


def as_html(text: str) -> Markup:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return Markup("\n").join(
        Markup('<p class="govuk-body">{}</p>').format(
            Markup("<br>\n").join(_linked(line) for line in block.split("\n"))
        )
        for block in _BLOCKS.split(normalised)
        if block.strip()
    )
