"""Who may be served: ``--max-clients`` connections in all, ``--max-per-ip`` at a time and
``--max-new-per-ip`` new ones per NEW_CONNECTIONS_WINDOW from one address, and the input budget an
address's connections share.

What counts as one address is ``admission_key``'s: an IPv4 address as it is, an IPv6 one by its
network of ``--ipv6-prefix`` bits, since whoever has one address of a /64 has all of them.

Plan: the server asks ``admit`` before a connection is served and says ``forget`` when an admitted
one ends, so the counts the limits apply to are always exact.  An address whose connections have
all gone is remembered until nothing is owed (its shared budget and its new-connection bucket are
full again: ``forget_idle``, from the server's sweep), so reconnecting does not refill either.
No clock and no I/O: the caller passes the time.
"""

from __future__ import annotations

import ipaddress

from algokart_chat.config import Settings
from algokart_chat.token_bucket import InputBudget, Rates, TokenBucket

NEW_CONNECTIONS_WINDOW = 600.0  # --max-new-per-ip counts new connections per this many seconds


def admission_key(host: str, ipv6_prefix: int) -> str:
    """What ``--max-per-ip``, ``--max-new-per-ip`` and an address's shared budget count ``host``
    (a peer's address) as: an IPv4 address as it is, an IPv4-mapped IPv6 one as its IPv4 address,
    any other IPv6 address as its network of ``ipv6_prefix`` bits (``2001:db8:0:1::/64``), since
    whoever has one address of a /64 (a home line, a server) has all of them.  Pure."""
    if ":" not in host:
        return host  # IPv4 (or no address at all)
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if ipv6_prefix >= 128:
        return str(address)
    host_bits = 128 - ipv6_prefix
    return str(ipaddress.IPv6Network((int(address) >> host_bits << host_bits, ipv6_prefix)))


class Address:
    """One client address (an IPv6 network: ``admission_key``): its connections, the input budget
    they share, its new-connection bucket."""

    __slots__ = ("arrivals", "budget", "connections")

    def __init__(self, budget: InputBudget | None, arrivals: TokenBucket | None) -> None:
        self.connections = 0
        self.budget = budget
        self.arrivals = arrivals

    def full(self, now: float) -> bool:
        """Whether forgetting it changes nothing (no connection, nothing spent)."""
        return (
            not self.connections
            and (self.budget is None or self.budget.full(now))
            and (self.arrivals is None or self.arrivals.full(now))
        )


class Admission:
    """The connections admitted, in all and per address; refusals are the error codes clients get."""

    __slots__ = ("_address_rates", "_addresses", "_closed", "_idle", "_settings", "admitted")

    def __init__(self, settings: Settings, rates: Rates | None) -> None:
        """``rates``: what each connection may send, if that is limited; an address's connections
        together may send what --max-per-ip connections may."""
        self._settings = settings
        self._address_rates = rates.scaled(settings.max_per_ip) if rates is not None and settings.max_per_ip else None
        self._addresses: dict[str, Address] = {}  # by admission_key
        self._idle: dict[str, None] = {}  # no connection left: forgotten once nothing is owed
        self._closed = False
        self.admitted = 0

    def key_of(self, peer: tuple[str, int] | None) -> str:
        """The address ``peer`` counts as ("" for a peer already gone)."""
        return admission_key(peer[0], self._settings.ipv6_prefix) if peer else ""

    def admit(self, key: str, now: float, room_available: bool) -> str | None:
        """Count a new connection of address ``key``, or return the error code it is refused with."""
        settings = self._settings
        if self._closed or self.admitted >= settings.max_clients:
            return "server-full"
        if not room_available:
            return "cluster-unavailable"
        address = self._address(key, now)
        if settings.max_per_ip and address.connections >= settings.max_per_ip:
            return "too-many-connections"
        if address.arrivals is not None:
            if not address.arrivals.available(now):
                if not address.connections:  # (still idle: forgotten once nothing is owed)
                    self._idle[key] = None
                return "connecting-too-fast"
            address.arrivals.charge(1, now)
        address.connections += 1
        self.admitted += 1
        return None

    def _address(self, key: str, now: float) -> Address:
        address = self._addresses.get(key)
        if address is None:
            settings = self._settings
            budget = InputBudget(self._address_rates, now) if self._address_rates is not None else None
            arrivals = None
            if settings.max_per_ip and settings.max_new_per_ip:
                rate = settings.max_new_per_ip / NEW_CONNECTIONS_WINDOW
                arrivals = TokenBucket(rate, settings.max_per_ip + settings.max_new_per_ip, now)
            address = self._addresses[key] = Address(budget, arrivals)
        else:
            self._idle.pop(key, None)
        return address

    def budget(self, key: str) -> InputBudget | None:
        """The input budget every connection of address ``key`` shares (with --max-per-ip)."""
        return self._addresses[key].budget

    def forget(self, key: str) -> bool:
        """An admitted connection of address ``key`` ended; True if the address has none left (it
        is forgotten by ``forget_idle`` once nothing is owed)."""
        self.admitted -= 1
        address = self._addresses[key]
        address.connections -= 1
        if address.connections:
            return False
        self._idle[key] = None
        return True

    def forget_idle(self, now: float) -> bool:
        """Forget the addresses that have nothing left to remember; whether any are still waiting."""
        for key in [key for key in self._idle if self._addresses[key].full(now)]:
            del self._idle[key], self._addresses[key]
        return bool(self._idle)

    def close(self) -> None:
        """Admit nobody from now on (the server is shutting down)."""
        self._closed = True
