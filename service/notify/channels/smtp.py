"""E-mail through the council's SMTP relay, over a small pool of kept-open connections.

A cascade sends hundreds of messages within minutes; opening a connection (and STARTTLS and
login) per message would spend most of that time on handshakes, so up to `pool_size`
connections stay open and are reused. Relays close idle connections whenever they like: a
kept-open connection that turns out closed when the next message starts is replaced by a new one
before anything was sent on it.

Errors follow the split the dispatcher acts on: a 4xx reply, a refused or dropped connection and
a timeout are retryable, and a refused connection (or a 421 on connecting) and a timeout are the
relay's as a whole (ProviderUnavailable: no attempt of the message spent); a 5xx reply (unknown
recipient, rejected sender or content, failed login) is permanent. Every message carries a
Message-ID made from our message id, so a copy re-sent after a crash is recognisable as the same
message."""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote

import aiosmtplib
import structlog

from service.config import Settings, SmtpSecurity
from service.notify.channels.base import (
    Accepted,
    ChannelError,
    Medium,
    OutgoingMessage,
    PermanentError,
    ProviderUnavailable,
    RetryableError,
)
from service.notify.channels.mail_bytes import MESSAGE_POLICY, on_the_wire, plain_message_bytes
from service.notify.masking import mask_email, mask_emails_in

log = structlog.get_logger(__name__)

DEFAULT_POOL_SIZE = 4
MESSAGE_ID_HEADER = "X-Inspection-Week-Message-Id"

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_PLAIN_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_PLAIN_SUBJECT = re.compile(r"[A-Za-z0-9,.:;!?'()&/-]+(?: [A-Za-z0-9,.:;!?'()&/-]+)*")
_PLAIN_ADDRESS = re.compile(
    r"(?:[A-Za-z0-9'-]+(?: [A-Za-z0-9'-]+)* <[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+>"
    r"|[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+)"
)
_BARE_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)


@functools.lru_cache(maxsize=4096)
def parse_address(value: str, what: str = "address") -> Address:
    """One mailbox, bare (`harriet.oyelaran@example.org`) or with a display name
    (`Zoë Ní Bhriain <zoe.nibhriain@example.org>`); ValueError for anything else. A domain in
    another script comes back in its ASCII (IDNA) form, so no SMTPUTF8 is needed; a local part
    outside ASCII is refused, as most relays refuse it. Cached: the header parser is the dearest
    part of building a message, and each message asks twice (its To header, its envelope)."""
    if _BARE_ADDRESS.fullmatch(value):  # most are: no need for the header parser
        username, _, domain = value.partition("@")
        return Address(username=username, domain=_ascii_domain(domain, value, what))
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} contains a line break")
    header = email_policy.default.header_factory("To", value)
    addresses = header.addresses
    if len(addresses) != 1 or header.defects:
        raise ValueError(f"{what} is not a single e-mail address in ASCII ({mask_email(value)})")
    address = addresses[0]
    if not address.username or not address.domain or "." not in address.domain:
        raise ValueError(f"{what} is not an e-mail address ({mask_email(value)})")
    domain = _ascii_domain(address.domain, value, what)
    return Address(display_name=address.display_name, username=address.username, domain=domain)


def _ascii_domain(domain: str, value: str, what: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{what} has an invalid domain ({mask_email(value)})") from exc


@dataclass(frozen=True)
class _Envelope:
    message_id: str
    sender: str
    recipient: str
    wire: bytes
    """The message as DATA sends it (`on_the_wire`)."""


async def _mail(client: aiosmtplib.SMTP, sender: str) -> None:
    """MAIL FROM as `SMTP.mail` sends it and with its errors, without its `parseaddr` of an
    address already parsed here: the two cost a ninth of an e-mail's send in a cascade's profile.
    A connection that has not said EHLO yet goes through `SMTP.mail`, which says it first."""
    if client.is_ehlo_or_helo_needed:
        await client.mail(sender)
        return
    response = await client.execute_command(b"MAIL", b"FROM:<" + sender.encode("ascii") + b">")
    if response.code != aiosmtplib.SMTPStatus.completed:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)


async def _data(client: aiosmtplib.SMTP, wire: bytes) -> aiosmtplib.SMTPResponse:
    """DATA as `SMTP.data` sends it and with its errors, for bytes already as they go on the
    wire (`on_the_wire`): aiosmtplib's own pass over them (line endings, leading dots) was a
    fifth of an e-mail's send in a cascade's profile, for messages written with CRLF already."""
    start = await client.execute_command(b"DATA")
    if start.code != aiosmtplib.SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        # Nothing is awaited between the write and the read, so the answer cannot arrive
        # before the protocol expects it.
        protocol.write(wire)
        response = await protocol.read_response(timeout=client.timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        client.close()
        raise
    if response.code != aiosmtplib.SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response


async def _rcpt(client: aiosmtplib.SMTP, recipient: str) -> None:
    """RCPT TO as `SMTP.rcpt` sends it and with its errors (see `_mail`)."""
    response = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
    if response.code not in (aiosmtplib.SMTPStatus.completed, aiosmtplib.SMTPStatus.will_forward):
        raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)


class _StaleConnection(Exception):
    """A kept-open connection was found closed before anything was sent on it."""


class SmtpChannel:
    """E-mail over SMTP. `security` is "none", "starttls" (required, not opportunistic) or "tls"
    (implicit TLS, usually port 465); certificates are verified against `tls_context`, or the
    system's trust store when it is None. `timeout` bounds each send from the moment it has a
    connection slot: connecting, STARTTLS, login and the whole transaction. At most `pool_size`
    connections are open at once; a channel belongs to one event loop at a time, and `aclose()`
    before that loop ends closes them cleanly."""

    name = "smtp"
    media: frozenset[Medium] = frozenset({Medium.email})

    def __init__(
        self,
        *,
        mail_from: str,
        host: str = "localhost",
        port: int = 25,
        security: SmtpSecurity | str = SmtpSecurity.starttls,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        reply_to: str | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ):
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if (username is None) != (password is None):
            raise ValueError("SMTP username and password go together: give both or neither")
        self.host = host
        self.port = port
        self.security = SmtpSecurity(security)
        self.timeout = timeout
        self.pool_size = pool_size
        self._username = username
        self._password = password
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._from = parse_address(mail_from, "MAIL_FROM")
        self._reply_to = parse_address(reply_to, "MAIL_REPLY_TO") if reply_to else None
        self._domain = self._from.domain

        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[aiosmtplib.SMTP] = []
        self._open: set[aiosmtplib.SMTP] = set()
        self._closed = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        tls_context: ssl.SSLContext | None = None,
    ) -> SmtpChannel:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            mail_from=settings.mail_from,
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=password,
            timeout=settings.smtp_timeout_seconds,
            reply_to=settings.mail_reply_to,
            pool_size=pool_size,
            tls_context=tls_context,
        )

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or in use (never more than `pool_size`)."""
        return len(self._open)

    def message_id_for(self, message_id: str) -> str:
        """The Message-ID header for our message id: the same id always gives the same header."""
        return f"<{quote(message_id, safe='')}@{self._domain}>"

    def build_message(
        self, message: OutgoingMessage, *, now: datetime | None = None
    ) -> EmailMessage:
        """The MIME message: plain text, plus an HTML alternative when there is one."""
        recipient = parse_address(message.to, "recipient")
        reply_to = (
            parse_address(message.reply_to, "reply-to") if message.reply_to else self._reply_to
        )
        mime = EmailMessage(policy=MESSAGE_POLICY)
        mime["Message-ID"] = self.message_id_for(message.id)
        mime["Date"] = format_datetime(now or datetime.now(UTC))
        # As text, which the header cache takes: From and Reply-To are the same every time.
        mime["From"] = str(self._from)
        mime["To"] = str(recipient)
        if reply_to is not None:
            mime["Reply-To"] = str(reply_to)
        mime["Subject"] = _LINE_BREAKS.sub(" ", message.subject).strip()
        mime[MESSAGE_ID_HEADER] = message.id
        mime.set_content(message.body, charset="utf-8", cte="quoted-printable")
        if message.html_body is not None:
            mime.add_alternative(
                message.html_body, subtype="html", charset="utf-8", cte="quoted-printable"
            )
            # "=_" never occurs in quoted-printable text, so this boundary cannot collide with
            # either part, and the generator need not search both parts for a free one.
            mime.set_boundary(f"=_iw_{uuid.uuid4().hex}")
        return mime

    async def send(self, message: OutgoingMessage) -> Accepted:
        if message.medium != Medium.email:
            raise PermanentError(f"the smtp channel carries e-mail, not {message.medium}")
        if self._closed:
            raise RetryableError("the smtp channel is closed")
        envelope = self._envelope(message)
        slots = self._bind_loop()
        masked_to = mask_email(envelope.recipient)
        async with slots:
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self._deliver(envelope)
            except TimeoutError as exc:
                error: ChannelError = ProviderUnavailable(
                    f"SMTP server {self.host}:{self.port} did not answer within {self.timeout:g} s"
                )
                _log_failure(message.id, masked_to, error)
                raise error from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = _classify(exc, f"{self.host}:{self.port}")
                _log_failure(message.id, masked_to, error)
                raise error from exc
        reply = f"{response.code} {mask_emails_in(response.message)}".strip()
        log.debug("smtp.sent", message_id=message.id, to=masked_to, reply=reply)
        return Accepted(
            provider_id=None, detail={"message_id": envelope.message_id, "reply": reply}
        )

    async def aclose(self) -> None:
        """Say QUIT on every idle connection; connections in use close when their send ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            await asyncio.gather(*(self._quit(client) for client in idle))
        else:
            for client in idle:
                self._discard(client)

    # The pool.

    def _bind_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None:
            # Connections belong to the event loop that opened them; a new loop starts afresh.
            for client in [*self._idle, *self._open]:
                self._discard(client)
            self._idle.clear()
            self._open.clear()
            self._loop = loop
            self._slots = asyncio.Semaphore(self.pool_size)
        return self._slots

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
            self._discard(client)
        return None

    def _release(self, client: aiosmtplib.SMTP) -> None:
        if self._closed or not client.is_connected:
            self._discard(client)
        else:
            self._idle.append(client)

    def _discard(self, client: aiosmtplib.SMTP) -> None:
        self._open.discard(client)
        with suppress(Exception):
            client.close()

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        try:
            async with asyncio.timeout(min(self.timeout, 5.0)):
                await client.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            pass
        finally:
            self._discard(client)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.security == SmtpSecurity.tls,
            start_tls=self.security == SmtpSecurity.starttls,
            tls_context=self._tls_context,
            username=self._username,
            password=self._password,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        # Resolve the name said in EHLO once, not once per connection.
        self._local_hostname = self._local_hostname or client.local_hostname
        self._open.add(client)
        return client

    async def _deliver(self, envelope: _Envelope) -> aiosmtplib.SMTPResponse:
        client = self._take_idle()
        if client is not None:
            try:
                return await self._transact(client, envelope, fresh=False)
            except _StaleConnection:
                pass
        client = await self._connect()
        return await self._transact(client, envelope, fresh=True)

    async def _transact(
        self, client: aiosmtplib.SMTP, envelope: _Envelope, *, fresh: bool
    ) -> aiosmtplib.SMTPResponse:
        try:
            try:
                await _mail(client, envelope.sender)
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPSenderRefused) as exc:
                closed = isinstance(exc, aiosmtplib.SMTPServerDisconnected) or exc.code == 421
                if closed and not fresh:
                    raise _StaleConnection from exc
                raise
            await _rcpt(client, envelope.recipient)
            response = await _data(client, envelope.wire)
        except _StaleConnection:
            self._discard(client)
            raise
        except BaseException as exc:
            await self._recover(client, exc)
            raise
        self._release(client)
        return response

    async def _recover(self, client: aiosmtplib.SMTP, exc: BaseException) -> None:
        """After a refusal the connection is still good once the transaction is reset; after
        anything else (a drop, a timeout, a cancellation) it is closed."""
        refused = isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code != 421
        if not refused or not client.is_connected:
            self._discard(client)
            return
        try:
            await client.rset()
        except BaseException as reset_failure:
            self._discard(client)
            if isinstance(reset_failure, aiosmtplib.SMTPException | OSError):
                return
            raise
        self._release(client)

    # Messages.

    def _envelope(self, message: OutgoingMessage) -> _Envelope:
        try:
            recipient = parse_address(message.to, "recipient")
            message_id = self.message_id_for(message.id)
            data = self._plain_bytes(message, recipient)
            crlf_only = data is not None
            if data is None:
                mime = self.build_message(message)
                message_id = str(mime["Message-ID"])
                data = mime.as_bytes(policy=email_policy.SMTP)
            wire = on_the_wire(data, crlf_only=crlf_only)
        except (ValueError, TypeError, UnicodeError, IndexError) as exc:
            raise PermanentError(
                f"message {message.id} cannot be sent as e-mail: {mask_emails_in(str(exc))}"
            ) from exc
        return _Envelope(
            message_id=message_id,
            sender=self._from.addr_spec,
            recipient=recipient.addr_spec,
            wire=wire,
        )

    def _plain_bytes(
        self, message: OutgoingMessage, recipient: Address, *, now: datetime | None = None
    ) -> bytes | None:
        """`build_message`'s bytes without the email package, when every header is plain."""
        reply_to = (
            parse_address(message.reply_to, "reply-to") if message.reply_to else self._reply_to
        )
        subject = _LINE_BREAKS.sub(" ", message.subject).strip()
        addresses = [str(self._from), str(recipient)]
        if reply_to is not None:
            addresses.append(str(reply_to))
        if (
            not _PLAIN_ID.fullmatch(message.id)
            or not _PLAIN_SUBJECT.fullmatch(subject)
            or not all(_PLAIN_ADDRESS.fullmatch(a) for a in addresses)
        ):
            return None
        headers = [
            ("Message-ID", self.message_id_for(message.id)),
            ("Date", format_datetime(now or datetime.now(UTC))),
            ("From", addresses[0]),
            ("To", addresses[1]),
        ]
        if reply_to is not None:
            headers.append(("Reply-To", addresses[2]))
        headers += [("Subject", subject), (MESSAGE_ID_HEADER, message.id)]
        return plain_message_bytes(
            headers=headers,
            body=message.body,
            html_body=message.html_body,
            boundary=f"=_iw_{uuid.uuid4().hex}",
        )


def _classify(exc: BaseException, server: str) -> ChannelError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        what = {
            aiosmtplib.SMTPRecipientRefused: "refused the recipient",
            aiosmtplib.SMTPSenderRefused: "refused the sender",
            aiosmtplib.SMTPDataError: "refused the message",
            aiosmtplib.SMTPAuthenticationError: "refused the login",
            aiosmtplib.SMTPConnectResponseError: "refused the connection",
            aiosmtplib.SMTPHeloError: "refused EHLO",
        }.get(type(exc), "answered with an error")
        text = f"SMTP server {server} {what}: {exc.code} {mask_emails_in(exc.message)}".strip()
        if 500 <= exc.code < 600:
            return PermanentError(text)
        if isinstance(exc, aiosmtplib.SMTPConnectResponseError):  # 421 on connecting
            return ProviderUnavailable(text)
        return RetryableError(text)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentError(f"SMTP server {server}: {mask_emails_in(exc.message)}")
    if isinstance(exc, TimeoutError):
        return ProviderUnavailable(f"SMTP server {server} timed out: {exc}")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return ProviderUnavailable(f"SMTP server {server} unreachable: {exc}")
    if isinstance(exc, aiosmtplib.SMTPException):
        return RetryableError(f"SMTP server {server}: {mask_emails_in(exc.message)}")
    return ProviderUnavailable(f"SMTP server {server} unreachable: {exc}")


def _log_failure(message_id: str, masked_to: str, error: ChannelError) -> None:
    log.warning(
        "smtp.failed",
        message_id=message_id,
        to=masked_to,
        retryable=isinstance(error, RetryableError),
        error=error.message,
    )
