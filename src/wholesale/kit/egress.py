"""Outbound HTTP to addresses a tenant chose (webhook targets), without letting it reach inside our network.

A target URL must be https and its host must resolve only to public addresses: loopback, private, shared
(100.64/10), link-local (169.254/16 with the cloud metadata endpoint, fe80::/10), unique-local, multicast,
reserved and unspecified addresses are refused, and so are IPv6 addresses that embed one of those (IPv4-mapped,
6to4, NAT64) and the cloud metadata host names. An operator allow-list (`Policy.parse`, host names, `.suffix`
patterns and CIDRs) admits others; the sandbox admits http and loopback, so integrations can be developed on a
laptop.

`check` resolves the host and judges every address; `post` sends to the address `check` judged (the connection
is pinned to it, TLS still verifies the host name), so a DNS answer that changes between check and connect
(rebinding) cannot redirect it. Redirects are never followed, every request has a time limit and at most
`max_bytes` of the response body is read.
"""

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import httpx

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver: TypeAlias = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048
MAX_RESPONSE_BYTES = 64 * 1024
# Names that reach a cloud provider's instance metadata service (credentials!) whatever they resolve to.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.packet.net",
        "metadata.platformequinix.com",
        "metadata.tencentyun.com",
        "100-100-100-200.aliyun.internal",
    }
)
# Cloud metadata endpoints by address (AWS, GCP, Azure, ...; AWS over IPv6; ECS task metadata; Alibaba).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class Refused(Exception):
    """The URL may not be called; `str(exc)` says why, in words a partner can act on."""


@dataclass(frozen=True)
class Policy:
    """Who may be called: https and public addresses, plus what the operator allowed, plus (sandbox) loopback
    over http or https."""

    sandbox: bool = False
    allowed_hosts: frozenset[str] = frozenset()  # exact names; ".example.net" admits its subdomains
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, allowed: str, *, sandbox: bool) -> "Policy":
        """A policy from the operator's allow-list: host names, `.suffix` (or `*.suffix`) patterns, addresses and
        CIDRs, separated by commas or white space (`WHOLESALE_WEBHOOK_ALLOWED_HOSTS`)."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for raw in allowed.replace(",", " ").split():
            entry = raw.strip().lower()
            try:
                networks.append(ipaddress.ip_network(entry.replace("[", "").replace("]", ""), strict=False))
                continue
            except ValueError:
                pass
            hosts.add("." + entry[2:] if entry.startswith("*.") else entry)
        return cls(sandbox=sandbox, allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks))

    def host_allowed(self, host: str) -> bool:
        """True when the operator allowed this host name (exactly, or by a `.suffix` pattern)."""
        host = host.lower().rstrip(".")
        if host in self.allowed_hosts:
            return True
        return any(pattern.startswith(".") and host.endswith(pattern) for pattern in self.allowed_hosts)

    def address_allowed(self, address: Address) -> bool:
        """True when an operator CIDR holds the address."""
        return any(address.version == net.version and address in net for net in self.allowed_networks)


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses it may be sent to (in resolver order)."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (the system resolver; IP literals come back as they are)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def why_not_public(address: Address) -> str | None:
    """None for a public unicast address, else what it is ("loopback", "link-local", ...)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = why_not_public(embedded)
            return f"{reason} (embedded in {address})" if reason else None
        if address.teredo is not None:
            return "a Teredo tunnel address"
        if address.is_site_local:
            return "site-local"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata endpoint"
    for reason, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if hit:
            return reason
    if not address.is_global:
        return "not publicly routable"
    return None


def check(url: str, policy: Policy, resolve: Resolver = system_resolver) -> Target:
    """The URL's target if the policy admits it (raises `Refused` saying why not). Resolves the host: call it at
    every use, not once, since a name may point elsewhere tomorrow."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"must be at most {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise Refused("is not a valid URL.") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise Refused("must be an https:// URL with a host name.")
    if parsed.userinfo:
        raise Refused("must not carry a user name or password; receivers verify the signature instead.")
    host = parsed.host.lower().rstrip(".")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host_allowed = policy.host_allowed(host)
    if host in METADATA_HOSTS and not host_allowed:
        raise Refused(f"points at {host}, a cloud metadata service.")
    try:
        resolved = [host] if _is_literal(host) else resolve(host, port)
    except (OSError, UnicodeError):
        raise Refused(f"host {host} does not resolve.") from None
    if not resolved:
        raise Refused(f"host {host} does not resolve.")
    addresses = [ipaddress.ip_address(a) for a in resolved]
    if not host_allowed:
        for address in addresses:
            if policy.address_allowed(address) or (policy.sandbox and _is_loopback(address)):
                continue
            reason = why_not_public(address)
            if reason:
                where = host if str(address) == host else f"{host} resolves to {address}, which"
                raise Refused(
                    f"{where} is {reason}: webhooks reach public addresses only "
                    "(an operator may allow others with WHOLESALE_WEBHOOK_ALLOWED_HOSTS)."
                )
    loopback_only = all(_is_loopback(a) for a in addresses)
    if parsed.scheme != "https" and not (policy.sandbox and (loopback_only or host in _LOOPBACK_NAMES)):
        raise Refused("must use https (http is admitted only for loopback receivers in the sandbox).")
    return Target(url=parsed, host=host, port=port, addresses=tuple(str(a) for a in addresses))


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@dataclass(frozen=True)
class Outcome:
    """What one POST came to: the status code when a response came, else the error; `ok` for a 2xx."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        """True for a 2xx response."""
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error is None


class Sender:
    """Sends POSTs to checked targets, keeping connections alive per host name (never shared between names,
    so a connection verified for one name never carries another name's requests)."""

    def __init__(self, *, max_hosts: int = 256, user_agent: str = "wholesale-webhooks"):
        self._clients: OrderedDict[tuple[str, str, int], httpx.Client] = OrderedDict()
        self._lock = threading.Lock()
        self._max_hosts = max_hosts
        self._user_agent = user_agent

    def _client(self, target: Target) -> httpx.Client:
        key = (target.url.scheme, target.host, target.port)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = httpx.Client(
                    follow_redirects=False,
                    trust_env=False,  # never through a proxy the environment names
                    limits=httpx.Limits(max_connections=20, max_keepalive_connections=4),
                )
                self._clients[key] = client
                while len(self._clients) > self._max_hosts:
                    _, old = self._clients.popitem(last=False)
                    old.close()
            else:
                self._clients.move_to_end(key)
            return client

    def post(
        self,
        target: Target,
        body: bytes,
        headers: dict[str, str],
        *,
        timeout: float = 10.0,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> Outcome:
        """POST `body` to the target's first reachable address; `timeout` bounds connecting, each read and the
        whole response; a 3xx is a failure (redirects are never followed), the body is read up to `max_bytes`."""
        started = time.perf_counter()
        deadline = started + timeout
        client = self._client(target)
        sent_headers = {
            "Host": target.url.netloc.decode("ascii"),
            "User-Agent": self._user_agent,
            "Content-Type": "application/json",
            **headers,
        }
        error = "no address to connect to"
        for address in target.addresses:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                error = f"timed out after {timeout:g} s"
                break
            url = target.url.copy_with(host=address)
            extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
            try:
                request = client.build_request(
                    "POST",
                    url,
                    content=body,
                    headers=sent_headers,
                    timeout=httpx.Timeout(remaining, connect=min(remaining, 5.0)),
                    extensions=extensions,
                )
                response = client.send(request, stream=True)
            except httpx.ConnectError as exc:
                error = f"could not connect to {address}: {_short(exc)}"
                continue  # the next address of the name, if any
            except httpx.TimeoutException:
                error = f"timed out after {timeout:g} s"
                break
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {_short(exc)}"
                break
            try:
                status, error_text = _read(response, deadline, max_bytes, timeout)
            finally:
                response.close()
            return Outcome(status, error_text, _ms(started))
        return Outcome(None, error, _ms(started))

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _read(response: httpx.Response, deadline: float, max_bytes: int, timeout: float) -> tuple[int, str | None]:
    """Read at most `max_bytes` of the body before the deadline; the status and what went wrong, if anything."""
    status = response.status_code
    received = bytearray()
    try:
        for chunk in response.iter_raw():
            received += chunk
            if len(received) >= max_bytes or time.perf_counter() > deadline:
                break
    except httpx.TimeoutException:
        return status, f"timed out after {timeout:g} s reading the response"
    except httpx.HTTPError as exc:
        return status, f"{type(exc).__name__} reading the response: {_short(exc)}"
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return status, f"HTTP {status} redirect{' to ' + location[:200] if location else ''} not followed"
    if not 200 <= status < 300:
        text = bytes(received[:200]).decode("utf-8", "replace").strip()
        return status, f"HTTP {status}" + (f": {text}" if text else "")
    return status, None


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:300]


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
