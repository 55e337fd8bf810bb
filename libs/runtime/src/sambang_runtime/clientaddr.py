"""The client address of a request, seen through the proxies we run (front door, nginx, ingress).

Public look-ups are rate limited per client address. Behind a proxy the connection comes from
the proxy, so the client has to be read from ``X-Forwarded-For``, but only as far as it was
written by proxies we trust: each proxy appends the address it saw (nginx's
``$proxy_add_x_forwarded_for``), and everything left of that is whatever the client sent.

The rule, as nginx's realip module with ``real_ip_recursive on`` applies it:

- the direct peer is not a trusted proxy: the peer is the client, its headers are ignored;
- else walk ``X-Forwarded-For`` (every such header, joined in order) from the right, skipping
  trusted proxies; the first address that is not one is the client;
- every entry is a trusted proxy: the left-most of them is the client (a proxy asking itself);
- an entry that is not an IP address (empty, ``unknown``, garbage) stops the walk, and the
  last good hop, a trusted proxy, is the client. Skipping it instead would let the walk reach
  addresses the client wrote; the cost is that such requests share their proxy's budget.

``ip:port`` and ``[ipv6]:port`` entries (some load balancers write them) count as their address;
IPv4-mapped IPv6 addresses count as their IPv4 address, so one client has one key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from starlette.requests import HTTPConnection

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What a request without a peer address (a Unix socket, some test clients) is counted against.
UNKNOWN = "unknown"


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (a bare address is a /32 or /128) as networks; ValueError names the bad one."""
    networks: list[IPNetwork] = []
    for raw in values:
        text = raw.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP network (CIDR): {text!r}") from None
    return tuple(networks)


def parse_hop(text: str) -> IPAddress | None:
    """One X-Forwarded-For entry as an address, or None when it is not one."""
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1] or [2001:db8::1]:443
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # 203.0.113.7:51234; a bare IPv6 address has several colons
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` entries are believed; built once per app from settings."""

    __slots__ = ("_networks", "_v4", "_v6")

    def __init__(self, networks: Iterable[IPNetwork | str] = ()) -> None:
        parsed: list[IPNetwork] = []
        for n in networks:
            parsed.extend(parse_networks([n]) if isinstance(n, str) else (n,))
        self._networks = tuple(parsed)
        # Split by family: a membership test across families is always false, so skip it.
        self._v4 = tuple(n for n in parsed if n.version == 4)
        self._v6 = tuple(n for n in parsed if n.version == 6)

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The trusted networks."""
        return self._networks

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: IPAddress) -> bool:
        """Whether ``address`` is one of our proxies."""
        if address.version == 4:
            return any(address in n for n in self._v4)
        return any(address in n for n in self._v6)

    def client(self, peer: str | None, forwarded_for: Sequence[str] = ()) -> str:
        """The client address, from the direct peer and the X-Forwarded-For header values in order."""
        if not peer:
            return UNKNOWN
        if not self._networks:
            return peer  # trusting nobody (the default) costs nothing on the hot path
        hop = parse_hop(peer)
        if hop is None:
            return peer
        if not self.trusts(hop):
            return str(hop)
        client = hop
        entries = ",".join(forwarded_for).split(",") if forwarded_for else []
        for entry in reversed(entries):
            found = parse_hop(entry)
            if found is None:
                break  # malformed: the last good hop, a trusted proxy, is the client
            client = found
            if not self.trusts(found):
                break
        return str(client)


_NOBODY = TrustedProxies()


def client_address(request: HTTPConnection) -> str:
    """The address a request is counted against: its client, seen through our trusted proxies."""
    proxies: TrustedProxies = getattr(request.app.state, "trusted_proxies", _NOBODY)
    peer = request.client.host if request.client else None
    return proxies.client(peer, request.headers.getlist("x-forwarded-for"))
