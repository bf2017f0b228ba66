"""An e-mail's bytes (service/notify/channels/mail_bytes.py): the quoted-printable text is the
email package's encoding, whatever the text. The whole message is compared with the email
package's in tests/notify/channels/test_smtp.py, and sent through a real SMTP server there."""

from __future__ import annotations

from email import quoprimime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.notify.channels.mail_bytes import on_the_wire, qp_lines


@given(st.text(st.characters(codec="utf-8"), max_size=3000))
@settings(max_examples=300, deadline=None)
def test_quoted_printable_is_the_email_packages_encoding_line_by_line(text: str) -> None:
    lines = text.encode("utf-8").splitlines()
    whole = (b"\n".join(lines) + b"\n").decode("latin-1")
    assert qp_lines(text) == quoprimime.body_encode(whole, 78, eol="\r\n")


@pytest.mark.parametrize("length", [999, 1000, 1001, 5000])
def test_a_long_line_is_encoded_as_the_email_package_encodes_it(length: int) -> None:
    line = ("Zoë = café " * length)[:length] + " "
    whole = line.encode("utf-8").decode("latin-1") + "\n"
    assert qp_lines(line) == quoprimime.body_encode(whole, 78, eol="\r\n")


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        (b"A: b\r\n\r\nbody\r\n", b"A: b\r\n\r\nbody\r\n.\r\n"),
        (b"A: b\r\n\r\n.\r\n..x\r\n", b"A: b\r\n\r\n..\r\n...x\r\n.\r\n"),
    ],
)
def test_data_doubles_each_leading_dot_and_ends_with_one(data: bytes, wire: bytes) -> None:
    assert on_the_wire(data, crlf_only=True) == wire


def test_bytes_from_elsewhere_get_crlf_line_endings_first() -> None:
    assert on_the_wire(b"A: b\n\n.x\rend", crlf_only=False) == b"A: b\r\n\r\n..x\r\nend\r\n.\r\n"
