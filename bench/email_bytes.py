"""Writing a cascade's e-mails for the wire: the SMTP channel against the email package.

Every e-mail the dispatcher sends is written as bytes (headers, a quoted-printable text part and
its HTML alternative) and then made ready for DATA (CRLF line ends, leading dots doubled). In a
cascade at full speed that work is done on the event loop that also sends, so it is paid for in
messages a second. This bench renders the shipped announcement e-mail for `--people` different
people (each with their own name, address and acknowledgement link, as a cascade writes them) and
times, in this process, for the whole set:

- baseline: the email package writing each message (`SmtpChannel.build_message`, then
  `as_bytes`) and aiosmtplib's own DATA preparation of those bytes, the way a plain
  `aiosmtplib.send` of an `EmailMessage` goes;
- the channel: `SmtpChannel._envelope`, the bytes it sends as they go on the wire.

The two are compared as parsed messages before anything is timed (same headers, same parts),
so the figure is for the same e-mails. Each figure is the median of `--repeat` passes.

    .venv/bin/python bench/email_bytes.py [--people 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import record  # noqa: E402
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings  # noqa: E402

from service.notify.channels.base import Medium, OutgoingMessage  # noqa: E402
from service.notify.channels.smtp import SmtpChannel  # noqa: E402
from service.notify.models import Purpose  # noqa: E402
from service.notify.templates.render import render_text  # noqa: E402
from service.notify.templates.samples import sample_context  # noqa: E402
from service.notify.templates.store import default  # noqa: E402

MAIL_FROM = "Inspection Week <inspection-week@northbridge.example.org>"
REPLY_TO = "Ofsted coordinator <ofsted-coordinator@northbridge.example.org>"


def messages(people: int) -> list[OutgoingMessage]:
    """The announcement e-mail as a cascade writes it for `people` different people."""
    template = default(Purpose.announcement, Medium.email)
    written = []
    for n in range(people):
        context = sample_context(Purpose.announcement)
        context["contact"] = {"name": f"Person {n:05d} Okonkwo-Lindqvist", "role": "Social worker"}
        context["ack_url"] = (
            f"https://inspection-week.northbridge.example.org/ack/{uuid.uuid4().hex}"
        )
        context["reply_code"] = f"{n % 10_000:04d}"
        rendered = render_text(
            Purpose.announcement,
            Medium.email,
            subject=template.subject,
            body=template.body,
            context=context,
            drill=False,
        )
        written.append(
            OutgoingMessage(
                id=str(uuid.uuid4()),
                medium=Medium.email,
                to=f"person.{n:05d}@example.org",
                subject=rendered.subject,
                body=rendered.body,
                html_body=rendered.html_body,
                reply_to=None,
            )
        )
    return written


def by_the_email_package(channel: SmtpChannel, message: OutgoingMessage) -> bytes:
    data = channel.build_message(message).as_bytes(policy=email_policy.SMTP)
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) + b".\r\n"


def by_the_channel(channel: SmtpChannel, message: OutgoingMessage) -> bytes:
    return channel._envelope(message).wire


def parsed(wire: bytes) -> tuple[dict[str, str], list[str]]:
    """What a reader gets from DATA's bytes: headers but the per-message ones, and the parts."""
    body = wire.removesuffix(b".\r\n").replace(b"\r\n..", b"\r\n.")
    message = message_from_bytes(body, policy=email_policy.default)
    headers = {k: str(v) for k, v in message.items() if k not in ("Date", "Content-Type")}
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    return headers, parts


def median_us(
    write: Callable[[OutgoingMessage], bytes], batch: list[OutgoingMessage], repeat: int
) -> float:
    passes = []
    for _ in range(repeat):
        started = time.perf_counter()
        for message in batch:
            write(message)
        passes.append((time.perf_counter() - started) / len(batch) * 1e6)
    return statistics.median(passes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    channel = SmtpChannel(mail_from=MAIL_FROM, reply_to=REPLY_TO, security="none")
    batch = messages(args.people)
    for message in batch[:50]:
        plain = by_the_email_package(channel, message)
        if parsed(by_the_channel(channel, message)) != parsed(plain):
            raise SystemExit(f"message {message.id}: the channel's bytes differ from the package's")

    baseline = median_us(lambda m: by_the_email_package(channel, m), batch, args.repeat)
    service = median_us(lambda m: by_the_channel(channel, m), batch, args.repeat)
    size = statistics.mean(len(by_the_channel(channel, m)) for m in batch[:100])
    print(
        f"{args.people:,} announcement e-mails of {size:,.0f} bytes on the wire, median of "
        f"{args.repeat} passes"
    )
    print(f"{'writer':<44} {'us/e-mail':>10}")
    print(f"{'email package + aiosmtplib DATA (baseline)':<44} {baseline:>10.1f}")
    print(f"{'SMTP channel':<44} {service:>10.1f}")
    record(
        "email_bytes",
        "-",
        "an e-mail written for DATA",
        service,
        "us",
        baseline=baseline,
        higher_is_better=False,
    )


if __name__ == "__main__":
    main()
