"""An e-mail as the bytes SMTP's DATA sends: the email package's policy with its parsed headers
shared between messages, a direct writer for the common message whose headers are plain ASCII,
and quoted-printable text encoded a line at a time. A cascade writes thousands of e-mails that
differ in a few lines and headers, on the event loop that also sends them, so what is the same
in every message is worked out once."""

from __future__ import annotations

import functools
from email import policy as email_policy
from email import quoprimime
from email.headerregistry import BaseHeader, HeaderRegistry
from typing import Any

from aiosmtplib.protocol import normalize_message_line_endings

_HEADER_LINE = 78
_QP_REMEMBERED_LINE = 1000
"""Lines up to this long are remembered once encoded, 4,096 of them: under 20 MB even if every
one were this long and all of it needed quoting (a cascade's lines take well under 1 MB)."""
_CRLF = "\r\n"


class _FoldedOnce:
    """A parsed header that remembers how it folds: shared headers are folded again for every
    message otherwise."""

    def fold(self, *, policy: Any) -> str:
        done = self.__dict__.get("_folded")
        if done is not None and done[0] is policy:
            return str(done[1])
        folded = super().fold(policy=policy)  # type: ignore[misc]
        self.__dict__["_folded"] = (policy, folded)
        return str(folded)


class _RepeatedHeaders(HeaderRegistry):
    """The header parser, remembering what it parsed: a message has about 17 headers, its parts'
    included, and most (Content-Type, From, Reply-To, Subject...) are the same in every message,
    while parsing them was the dearest part of building one. A parsed header is never changed
    (setting one replaces it), so messages can share it."""

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is not str:
            return super().__call__(name, value)
        return self._parsed(name, value)

    @functools.lru_cache(maxsize=2048)  # noqa: B019 - one registry, for the process's life
    def _parsed(self, name: str, value: str) -> BaseHeader:
        return super().__call__(name, value)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - the standard one makes a class every call
    def __getitem__(self, name: str) -> type[BaseHeader]:
        kind = self.registry.get(name.lower(), self.default_class)
        return type("_" + kind.__name__, (_FoldedOnce, kind, self.base_class), {})


MESSAGE_POLICY = email_policy.SMTP.clone(header_factory=_RepeatedHeaders())


def on_the_wire(data: bytes, *, crlf_only: bool) -> bytes:
    """A message as DATA sends it: CRLF line endings, each line's leading dot doubled, and the
    closing dot. Messages written here (`plain_message_bytes`) have CRLF endings already."""
    if not crlf_only:
        data = normalize_message_line_endings(data)
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def qp_lines(text: str) -> str:
    """A text part's body as the email package writes it (utf-8, quoted-printable, CRLF).
    `quoprimime.body_encode` encodes each line on its own, so this is its output line by line:
    a cascade's e-mails share most of their lines, and encoding them was the dearest part of
    writing one."""
    lines = text.encode("utf-8").splitlines()
    return "".join([_qp_line(line.decode("latin-1")) + _CRLF for line in lines]) or _CRLF


def _qp_line(line: str) -> str:
    if len(line) > _QP_REMEMBERED_LINE:
        return quoprimime.body_encode(line, _HEADER_LINE, eol=_CRLF)
    return _qp_remembered(line)


@functools.lru_cache(maxsize=4096)
def _qp_remembered(line: str) -> str:
    return quoprimime.body_encode(line, _HEADER_LINE, eol=_CRLF)


def plain_message_bytes(
    *,
    headers: list[tuple[str, str]],
    body: str,
    html_body: str | None,
    boundary: str,
) -> bytes | None:
    """The bytes `SmtpChannel.build_message` makes, written directly, for the common message
    whose headers are short plain ASCII; None for anything else (the email package then writes
    it). Parsing and folding each header was most of the cost of an e-mail: byte for byte the
    same message (tests/notify/channels/test_smtp.py compares them)."""
    lines: list[str] = []
    for name, value in headers:
        line = f"{name}: {value}"
        if len(line) > _HEADER_LINE:
            return None
        lines.append(line)
    text = (
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
    )
    if html_body is None:
        head = _CRLF.join([*lines, text, "MIME-Version: 1.0"])
        return f"{head}\r\n\r\n{qp_lines(body)}".encode("ascii")
    html = 'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
    head = _CRLF.join(
        [
            *lines,
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
        ]
    )
    return (
        f"{head}\r\n\r\n--{boundary}\r\n{text}\r\n\r\n{qp_lines(body)}"
        f"\r\n--{boundary}\r\n{html}\r\nMIME-Version: 1.0\r\n\r\n{qp_lines(html_body)}"
        f"\r\n--{boundary}--\r\n"
    ).encode("ascii")
