"""Where a webhook may be sent: https only, and never to this machine or the council's private
network (a subscription must not become a way to reach internal services), checked on the
resolved addresses at creation and again before every connection (DNS may change meanwhile)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Policy:
    allow_http: bool = False
    allow_private: bool = False


class RefusedTarget(Exception):
    """The URL or an address it resolves to is not allowed; the message says why."""


def _forbidden(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private or address.is_reserved or address.is_multicast:
        return "private"
    if address.is_unspecified:
        return "unspecified"
    return None


def check_url(url: str, policy: Policy) -> tuple[str, int]:
    """The host and port of an allowed URL; RefusedTarget otherwise (no DNS look-up here)."""
    parts = urlsplit(url)
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in allowed:
        raise RefusedTarget("must start with https://")
    if not parts.hostname:
        raise RefusedTarget("has no host")
    if parts.username or parts.password:
        raise RefusedTarget("must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedTarget("has a port that is not a number from 1 to 65535") from exc
    return parts.hostname, port


def check_addresses(host: str, addresses: list[str], policy: Policy) -> None:
    if not addresses:
        raise RefusedTarget(f"host {host!r} does not resolve")
    if policy.allow_private:
        return
    for text in addresses:
        why = _forbidden(ipaddress.ip_address(text.split("%")[0]))
        if why is not None:
            raise RefusedTarget(f"host {host!r} resolves to a {why} address ({text}), not allowed")


def resolve(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedTarget(f"host {host!r} does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def validate(url: str, policy: Policy) -> str:
    """For the API: the URL itself or InvalidInput naming `url`."""
    try:
        host, port = check_url(url, policy)
        check_addresses(host, resolve(host, port), policy)
    except RefusedTarget as exc:
        raise InvalidInput("url", str(exc)) from None
    return url
