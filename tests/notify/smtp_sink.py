"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives.

It runs its own event loop in a thread, so it serves async tests, plain tests that start the
service as a separate process, and benchmarks alike:

    with SmtpSink(tls="starttls", credentials={"relay-user": "s3cret"}) as sink:
        ...  # point SMTP_HOST/SMTP_PORT at sink.host/sink.port
        sink.wait_for_messages(1)

It can be told to misbehave for one address: answer with a given reply (`respond`), hang up
without answering (`drop`), or wait before answering (`stall`), at MAIL, RCPT or end of DATA;
and to close every open connection (`close_connections`), as a relay does after its idle
timeout. With `tls` it serves STARTTLS or implicit TLS with a self-signed certificate made on the
spot; `ca_file` and `client_tls_context()` let a client trust it."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["mail", "rcpt", "data"]
TlsMode = Literal["starttls", "implicit"]


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server took it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None
    connection: int
    """Which connection brought it (1 for the first the sink accepted, and so on)."""

    def parse(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class _Rule:
    stage: Stage
    address: str
    action: Literal["reply", "drop", "stall"]
    reply: str = ""
    seconds: float = 0.0
    remaining: int | None = None


def make_self_signed_certificate(
    directory: Path,
    *,
    hostnames: Iterable[str] = ("localhost",),
    addresses: Iterable[str] = ("127.0.0.1", "::1"),
) -> tuple[Path, Path]:
    """Write `cert.pem` and `key.pem` (EC P-256, valid for a day) for the given names and IP
    addresses; returns their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "inspection-week test relay")])
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(host) for host in hostnames]
    alt_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        reply = await self.sink._misbehave("mail", [address], server)
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        reply = await self.sink._misbehave("rcpt", [address], server)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope):  # noqa: N802
        reply = await self.sink._misbehave("data", envelope.rcpt_tos, server)
        if reply is not None:
            return reply
        return self.sink._record(server, session, envelope)


class _SinkSMTP(SMTP):
    """aiosmtpd's server, counting connections, able to wait before its greeting, and closing
    its side when the client closes (as real servers do)."""

    def __init__(self, sink: SmtpSink, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sink = sink
        self.number = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.number == 0:  # not again after STARTTLS
            self.number = self.sink._opened(self)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self.sink._closed(self)

    def eof_received(self) -> bool | None:
        super().eof_received()
        return False

    async def _handle_client(self) -> None:
        delay = self.sink.greeting_delay
        if delay:
            await asyncio.sleep(delay)
        await super()._handle_client()


class SmtpSink:
    """A loopback SMTP server. Arguments:

    - `host`, `port`: where to listen (port 0: any free port; read `port` after `start()`).
    - `tls`: None (plain), "starttls" (offers STARTTLS) or "implicit" (TLS from the first byte).
    - `require_starttls`: refuse MAIL before STARTTLS.
    - `credentials`: {username: password}; AUTH PLAIN/LOGIN is offered (after STARTTLS when
      `tls="starttls"`) and, unless `auth_required=False`, required before MAIL.
    - `idle_timeout`: seconds after which the server closes a silent connection.
    - `on_message`: called with the count kept so far after each message, before the reply.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: TlsMode | None = None,
        require_starttls: bool = False,
        credentials: Mapping[str, str] | None = None,
        auth_required: bool | None = None,
        idle_timeout: float = 300.0,
        on_message: Callable[[int], None] | None = None,
    ):
        self.host = host
        self.port = port
        self.tls = tls
        self.require_starttls = require_starttls
        self.credentials = dict(credentials or {})
        self.auth_required = bool(self.credentials) if auth_required is None else auth_required
        self.idle_timeout = idle_timeout
        self.greeting_delay = 0.0
        self.ca_file: Path | None = None
        self.on_message = on_message
        """Called with the number kept so far after each message is kept, before the reply goes
        back: a test can kill the sender with a message it never hears was taken."""

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._messages: list[ReceivedMessage] = []
        self._rules: list[_Rule] = []
        self._servers: set[_SinkSMTP] = set()
        self._connections_opened = 0
        self._max_open = 0
        self._failed_logins = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server_tls: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    # Life cycle.

    def start(self) -> SmtpSink:
        if self._thread is not None:
            raise RuntimeError("the SMTP sink is already running")
        if self.tls is not None:
            self._tmp = tempfile.TemporaryDirectory(prefix="smtp-sink-")
            cert, key = make_self_signed_certificate(Path(self._tmp.name))
            self.ca_file = cert
            self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._server_tls.load_cert_chain(cert, key)
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(
                        self._make_protocol,
                        host=self.host,
                        port=self.port,
                        ssl=self._server_tls if self.tls == "implicit" else None,
                    )
                )
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            self._server.close()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="smtp-sink", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._close_all_and_stop)
        self._thread.join(10)
        self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this sink's certificate (and verifies it as usual)."""
        if self.ca_file is None:
            raise RuntimeError("the sink was started without tls")
        return ssl.create_default_context(cafile=str(self.ca_file))

    # What it received.

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def connections_opened(self) -> int:
        """Connections accepted since start (or the last `reset()`)."""
        with self._lock:
            return self._connections_opened

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._servers)

    @property
    def max_open_connections(self) -> int:
        """The most connections open at the same moment since start (or `reset()`)."""
        with self._lock:
            return self._max_open

    @property
    def failed_logins(self) -> int:
        with self._lock:
            return self._failed_logins

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} messages, the sink received {len(self._messages)}"
                    )
                self._changed.wait(left)
            return list(self._messages)

    def reset(self) -> None:
        """Forget messages, rules and counters (open connections stay open)."""
        with self._lock:
            self._messages.clear()
            self._rules.clear()
            self._connections_opened = 0
            self._max_open = len(self._servers)
            self._failed_logins = 0
        self.greeting_delay = 0.0

    # Misbehaving.

    def respond(
        self, address: str, reply: str, *, at: Stage = "rcpt", times: int | None = None
    ) -> None:
        """Answer `reply` (e.g. "550 5.1.1 User unknown") when `address` appears at `at`: the
        sender at "mail", the recipient at "rcpt", any recipient at "data" (end of DATA).
        `times` limits how often; None is every time."""
        self._add(_Rule(at, address.lower(), "reply", reply=reply, remaining=times))

    def drop(self, address: str, *, at: Stage = "rcpt", times: int | None = None) -> None:
        """Hang up without answering. At "data" the message is not kept."""
        self._add(_Rule(at, address.lower(), "drop", remaining=times))

    def stall(
        self, address: str, seconds: float, *, at: Stage = "rcpt", times: int | None = None
    ) -> None:
        """Wait `seconds` before answering as usual (unless the client hangs up first)."""
        self._add(_Rule(at, address.lower(), "stall", seconds=seconds, remaining=times))

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def close_connections(self) -> int:
        """Close every open connection from the server's side; returns how many."""
        if self._loop is None:
            return 0

        async def close_all() -> int:
            servers = list(self._servers)
            for server in servers:
                if server.transport is not None:
                    server.transport.close()
            return len(servers)

        return asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(5)

    # Inside the server's thread.

    def _make_protocol(self) -> _SinkSMTP:
        with warnings.catch_warnings():
            # Plain-text AUTH is what a test relay without TLS is for.
            warnings.simplefilter("ignore")
            return _SinkSMTP(
                self,
                _Handler(self),
                hostname="sink.example.org",
                ident="inspection-week test relay",
                tls_context=self._server_tls if self.tls == "starttls" else None,
                require_starttls=self.require_starttls,
                timeout=self.idle_timeout,
                auth_required=self.auth_required,
                auth_require_tls=self.tls == "starttls",
                authenticator=self._authenticate if self.credentials else None,
                enable_SMTPUTF8=True,
            )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in self.credentials and self.credentials[login] == password:
                return AuthResult(success=True, auth_data=login)
        with self._lock:
            self._failed_logins += 1
        return AuthResult(success=False, handled=False)

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _match(self, stage: Stage, addresses: Iterable[str]) -> _Rule | None:
        wanted = {address.lower() for address in addresses}
        with self._lock:
            for rule in self._rules:
                if rule.stage != stage or rule.address not in wanted:
                    continue
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    rule.remaining -= 1
                return rule
        return None

    async def _misbehave(self, stage: Stage, addresses: Iterable[str], server: SMTP) -> str | None:
        rule = self._match(stage, addresses)
        if rule is None:
            return None
        if rule.action == "reply":
            return rule.reply
        if rule.action == "stall":
            await asyncio.sleep(rule.seconds)
            return None
        if server.transport is not None:
            server.transport.abort()
        # The connection is gone; aiosmtpd cancels this session's task when it notices.
        await asyncio.get_running_loop().create_future()
        return None  # pragma: no cover

    def _record(self, server: _SinkSMTP, session: Session, envelope: Envelope) -> str:
        auth = session.auth_data if session.authenticated else None
        message = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=envelope.original_content or b"",
            tls=self.tls == "implicit" or session.ssl is not None,
            login=auth if isinstance(auth, str) else None,
            connection=server.number,
        )
        with self._changed:
            self._messages.append(message)
            queued = len(self._messages)
            self._changed.notify_all()
        if self.on_message is not None:
            self.on_message(queued)
        return f"250 2.0.0 Ok: queued as {queued:06d}"

    def _opened(self, server: _SinkSMTP) -> int:
        with self._lock:
            self._servers.add(server)
            self._connections_opened += 1
            self._max_open = max(self._max_open, len(self._servers))
            return self._connections_opened

    def _closed(self, server: _SinkSMTP) -> None:
        with self._lock:
            self._servers.discard(server)

    def _close_all_and_stop(self) -> None:
        assert self._loop is not None
        for server in list(self._servers):
            if server.transport is not None:
                server.transport.close()
        self._loop.stop()
