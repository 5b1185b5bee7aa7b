"""Where the cluster's Redis is: ``--redis-url`` parsed into a ``RedisTarget``.  Pure: no redis-py.

The forms, with the names redis-py users know (``redis.from_url``'s, and its Sentinel client's)::

    redis://[[user]:password@]host[:port][/db]                     one Redis (a standalone server,
                                                                   or any node of a Redis Cluster)
    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]
                                                                   the master that these Sentinels
                                                                   name ``service``
    redis+cluster://[[user]:password@]host[:port][,host[:port]...][/0]
                                                                   a Redis Cluster, through any of
                                                                   its nodes (database 0 only)
    rediss://..., rediss+sentinel://..., rediss+cluster://...      the same over TLS

The user and password are Redis's (the master's and its replicas'); Sentinels are asked without
them.  TLS takes redis-py's query options: ``ssl_ca_certs`` (the CA file that signed the server's
certificate; the system's CAs without it), ``ssl_certfile`` and ``ssl_keyfile`` (a client
certificate, for Redis's ``tls-auth-clients``), ``ssl_check_hostname`` (``true``/``false``; true by
default).  Nothing else goes after ``?``: the server sets its own timeouts and retries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
TLS_FILE_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
TLS_OPTIONS = (*TLS_FILE_OPTIONS, "ssl_check_hostname")
FORMS = (
    "expected redis://[[user]:password@]host[:port][/db], "
    "redis+sentinel://host[:port][,host[:port]...]/service[/db], redis+cluster://host[:port][,host[:port]...], "
    "or rediss:// for any of them over TLS"
)
Kind = Literal["redis", "sentinel", "cluster"]
SCHEMES: dict[str, Kind] = {
    "redis": "redis",
    "rediss": "redis",
    "redis+sentinel": "sentinel",
    "rediss+sentinel": "sentinel",
    "redis+cluster": "cluster",
    "rediss+cluster": "cluster",
}


@dataclass(frozen=True)
class RedisTarget:
    """A parsed ``--redis-url``: ``hosts`` are Redis's (one), the Sentinels' or the Redis Cluster
    nodes' (one or more)."""

    kind: Kind
    hosts: tuple[tuple[str, int], ...]
    db: int = 0
    service: str = ""  # the Sentinel service name of the master
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_options: tuple[tuple[str, str | bool], ...] = ()

    def describe(self) -> str:
        """For logs and errors, without the password: ``10.0.0.5:6379/0``,
        ``mymaster/0 via Sentinel 10.0.0.5:26379,10.0.0.6:26379``."""
        hosts = ",".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.hosts)
        if self.kind == "sentinel":
            return f"{self.service}/{self.db} via Sentinel {hosts}"
        if self.kind == "cluster":
            return f"Cluster {hosts}"
        return f"{hosts}/{self.db}"

    def at(self, host: str, port: int) -> RedisTarget:
        """One Redis at that address, with this target's credentials and TLS (a Cluster's node)."""
        return replace(self, kind="redis", hosts=((host, port),), service="")

    def connection_options(self) -> dict[str, object]:
        """redis-py's keyword arguments for a connection to Redis (not the address)."""
        options: dict[str, object] = {"db": self.db}
        if self.username is not None:
            options["username"] = self.username
        if self.password is not None:
            options["password"] = self.password
        if self.tls:
            options["ssl"] = True
            options["ssl_check_hostname"] = True
            options.update(self.tls_options)
        return options


def parse_redis_url(raw: str) -> RedisTarget:
    """The target ``raw`` names; ValueError with the reason if it is not one of the forms."""
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    kind = SCHEMES.get(scheme)
    if kind is None:
        raise ValueError(FORMS)
    if parts.fragment:
        raise ValueError("nothing may follow # in the URL")
    sentinel = kind == "sentinel"
    _credentials, _, host_list = parts.netloc.rpartition("@")
    hosts = tuple(
        _host_port(item, DEFAULT_SENTINEL_PORT if sentinel else DEFAULT_PORT) for item in host_list.split(",")
    )
    path = parts.path.split("/")[1:]
    service = ""
    if sentinel:
        if not path or not path[0]:
            raise ValueError("a Sentinel URL names the master's service after the hosts: .../mymaster[/db]")
        service = unquote(path.pop(0))
    elif kind == "redis" and len(hosts) > 1:
        raise ValueError("one host in a redis:// URL (several hosts are Sentinels or a Cluster's nodes)")
    if path == [""]:
        path = []
    if len(path) > 1 or (path and not re.fullmatch(r"[0-9]+", path[0])):
        raise ValueError("the path after the host must be a database number, such as /0")
    if kind == "cluster" and path not in ([], ["0"]):
        raise ValueError("a Redis Cluster has database 0 only")
    tls = scheme.startswith("rediss")
    return RedisTarget(
        kind=kind,
        hosts=hosts,
        db=int(path[0]) if path else 0,
        service=service,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
        tls_options=_tls_options(parts.query, tls),
    )


def _host_port(item: str, default_port: int) -> tuple[str, int]:
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]+))?|([^\s:/\[\]@]+)(?::([0-9]+))?", item)
    if match is None:
        raise ValueError(f"{item!r} is not a host[:port] ({FORMS})")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4) or default_port)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return host, port


def _tls_options(query: str, tls: bool) -> tuple[tuple[str, str | bool], ...]:
    if not query:
        return ()
    if not tls:
        raise ValueError("options after ? are TLS options, for rediss:// only")
    options: list[tuple[str, str | bool]] = []
    for name, values in parse_qs(query, keep_blank_values=True, strict_parsing=False).items():
        if name not in TLS_OPTIONS:
            raise ValueError(
                f"unknown option {name!r} (the options are {', '.join(TLS_OPTIONS)}; the server sets its own timeouts)"
            )
        if len(values) != 1 or not values[0]:
            raise ValueError(f"{name} needs one value")
        value = values[0]
        if name == "ssl_check_hostname":
            if value.lower() not in ("true", "false"):
                raise ValueError("ssl_check_hostname is true or false")
            options.append((name, value.lower() == "true"))
        else:
            options.append((name, value))
    return tuple(options)
