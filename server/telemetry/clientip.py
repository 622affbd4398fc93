"""The client address of a request: the socket peer, or ``X-Forwarded-For`` when the peer is a
trusted proxy.

A pure function over the peer address, the header values and the trusted networks. The
header is read from the right (the hop the nearest proxy appended) and trusted proxies are
skipped; the first address that is not a trusted proxy is the client. A hop that is not an IP
address ends the walk at the proxy that reported it (it cannot be believed).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOPS: Final = 32
MAX_HEADER: Final = 4096


class TrustedProxies:
    """Addresses and networks whose ``X-Forwarded-For`` is believed (a plain class: Litestar
    injects it as a dependency and does not look inside)."""

    __slots__ = ("networks",)

    def __init__(self, networks: tuple[Network, ...]) -> None:
        self.networks = networks

    def __contains__(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def trusted_proxies(entries: Iterable[str]) -> TrustedProxies:
    """Parse addresses and networks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``); raises
    ``ValueError`` naming a bad entry."""
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {entry!r}") from exc
    return TrustedProxies(tuple(networks))


def parse_address(text: str) -> Address | None:
    """An IP address (IPv4-mapped IPv6 as IPv4), or None when ``text`` is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(peer: str | None, forwarded_for: Sequence[str], trusted: TrustedProxies) -> str:
    """The client address of a request from ``peer`` carrying ``X-Forwarded-For`` values."""
    peer_address = parse_address(peer) if peer else None
    if peer_address is None:
        return (peer or "")[:100]
    if peer_address not in trusted or not forwarded_for:
        return str(peer_address)
    hops = [h for value in forwarded_for for h in value[:MAX_HEADER].split(",") if h.strip()]
    current = peer_address
    for hop in reversed(hops[-MAX_HOPS:]):
        address = parse_address(hop)
        if address is None:
            return str(current)
        current = address
        if address not in trusted:
            return str(address)
    return str(current)
