"""The egress guard outside the sandbox: https to public addresses only, whatever form the address takes or the
name resolves to; the operator's allow-list admits others; the sandbox admits loopback over http. And the sender:
no redirect followed, a time limit, a size limit."""

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wholesale.kit import egress

STRICT = egress.Policy(sandbox=False)


def resolver(table: dict[str, list[str]]):
    def resolve(host: str, _port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return table[host]

    return resolve


NAMES = resolver(
    {
        "localhost": ["127.0.0.1", "::1"],
        "public.example": ["93.184.216.34"],
        "mixed.example": ["93.184.216.34", "10.1.2.3"],
        "rebind.example": ["169.254.169.254"],
        "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
        "internal.corp": ["10.20.30.40"],
    }
)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://93.184.216.34/hook", "https"),
        ("ftp://93.184.216.34/hook", "https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.8.9.10:8443/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://172.16.5.4/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://169.254.10.10/hook", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[fd00:ec2::254]/hook", "metadata"),
        ("https://[fc00::5]/hook", "private"),
        ("https://224.0.0.251/hook", "multicast"),
        ("https://[ff02::1]/hook", "multicast"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::]/hook", "unspecified"),
        ("https://240.0.0.1/hook", "private"),
        ("https://100.100.100.200/hook", "metadata"),
        ("https://100.64.0.1/hook", "not publicly routable"),
        ("https://[::ffff:169.254.169.254]/hook", "embedded"),
        ("https://[::ffff:127.0.0.1]/hook", "embedded"),
        ("https://[64:ff9b::a9fe:a9fe]/hook", "embedded"),
        ("https://[2002:a9fe:a9fe::1]/hook", "embedded"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://METADATA.google.internal./x", "metadata"),
        ("https://rebind.example/hook", "rebind.example resolves to 169.254.169.254"),
        ("https://mixed.example/hook", "10.1.2.3, which is private"),
        ("https://nowhere.example/hook", "does not resolve"),
        ("https://user:pw@public.example/hook", "user name"),
        ("not a url", "https"),
        ("https://" + "a" * 2050 + ".example/", "at most"),
    ],
)
def test_refused_outside_the_sandbox(url, says):
    with pytest.raises(egress.Refused) as refused:
        egress.check(url, STRICT, NAMES)
    assert says.lower() in str(refused.value).lower()


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "https://public.example:8443/a?b=c",
        "https://v6.example/x",
        "https://[2606:4700::1]/",
    ],
)
def test_public_https_is_admitted(url):
    target = egress.check(url, STRICT, NAMES)
    assert target.addresses and target.url.scheme == "https"


def test_the_allow_list_admits_hosts_suffixes_and_networks():
    policy = egress.Policy.parse("internal.corp, *.lab.example 192.168.0.0/16,[fd00::]/8", sandbox=False)
    assert egress.check("https://internal.corp/hook", policy, NAMES).addresses == ("10.20.30.40",)
    assert egress.check("https://a.lab.example/x", policy, resolver({"a.lab.example": ["10.0.0.9"]}))
    assert egress.check("https://192.168.4.5/hook", policy)
    assert egress.check("https://[fd12::1]/hook", policy)
    with pytest.raises(egress.Refused):
        egress.check("https://10.0.0.1/hook", policy)  # not in the list
    with pytest.raises(egress.Refused, match="https"):
        egress.check("http://internal.corp/hook", policy, NAMES)  # still https only


def test_the_sandbox_admits_loopback_over_http_and_nothing_else_private():
    sandbox = egress.Policy(sandbox=True)
    assert egress.check("http://127.0.0.1:9999/hook", sandbox)
    assert egress.check("http://localhost:9999/hook", sandbox, NAMES)
    assert egress.check("https://[::1]:9999/hook", sandbox)
    for url in ("http://10.0.0.1/hook", "https://169.254.169.254/", "http://93.184.216.34/", "https://[fe80::1]/"):
        with pytest.raises(egress.Refused):
            egress.check(url, sandbox, NAMES)


class _Slow(BaseHTTPRequestHandler):
    mode = "slow"

    def do_POST(self):
        with contextlib.suppress(OSError):  # the client gave up (the timeout) or stopped reading (the size limit)
            self._answer()

    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.mode == "slow":
            time.sleep(1.5)
        self.send_response(302 if self.mode == "redirect" else 200)
        if self.mode == "redirect":
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        big = self.mode == "big"
        self.send_header("Content-Length", str(5_000_000 if big else 2))
        self.end_headers()
        if big:
            for _ in range(76):
                self.wfile.write(b"x" * 65536)
        else:
            self.wfile.write(b"ok")

    def log_message(self, *_args):
        pass


@pytest.fixture
def slow_server():
    servers = []

    def make(mode: str) -> str:
        handler = type("Handler", (_Slow,), {"mode": mode})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/hook"

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_sender_times_out_refuses_redirects_and_reads_at_most_64_kib(slow_server):
    sandbox = egress.Policy(sandbox=True)
    sender = egress.Sender()
    try:
        started = time.monotonic()
        outcome = sender.post(egress.check(slow_server("slow"), sandbox), b"{}", {}, timeout=0.5)
        assert not outcome.ok and "timed out" in outcome.error
        assert time.monotonic() - started < 1.4

        outcome = sender.post(egress.check(slow_server("redirect"), sandbox), b"{}", {})
        assert not outcome.ok and outcome.status_code == 302
        assert "not followed" in outcome.error and "169.254.169.254" in outcome.error

        outcome = sender.post(egress.check(slow_server("big"), sandbox), b"{}", {})
        assert outcome.ok and outcome.status_code == 200

        refused = egress.check("http://127.0.0.1:1/hook", sandbox)  # nothing listens on port 1
        outcome = sender.post(refused, b"{}", {})
        assert not outcome.ok and outcome.status_code is None and "connect" in outcome.error
    finally:
        sender.close()
