"""Fixtures of the portal's browser tests: a real `wholesale serve` on a fresh database, and Debian's chromium."""

from pathlib import Path

import pytest

import processes
from browsing import CHROMIUM, CHROMIUM_ARGS
from conftest import fresh_database_url


@pytest.fixture
def served(tmp_path: Path):
    """Migrate and seed a fresh database, serve it on a free port; yield (base URL, the demo's printed tokens, the
    database URL: for `wholesale users create` and other CLI calls on it)."""
    url = fresh_database_url(tmp_path)
    printed = processes.prepare(url)
    port = processes.free_port()
    proc = processes.serve(url, port, tmp_path / "serve.log")
    try:
        yield f"http://127.0.0.1:{port}", printed, url
    finally:
        processes.stop(proc)


@pytest.fixture
def server(served):
    """(base URL, the demo's printed tokens) of `served`."""
    base, printed, _url = served
    return base, printed


@pytest.fixture
def browser():
    """A headless Debian chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
