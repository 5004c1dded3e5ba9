"""Starting a server for a test: a free loopback port, and waiting until it answers ``/readyz``."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(url: str, alive: Callable[[], str | None], timeout_s: float) -> None:
    """Poll ``url/readyz`` until it answers 200; fail when ``alive()`` returns why the server is gone, or on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        gone = alive()
        assert gone is None, gone
        assert time.monotonic() < deadline, f"server not ready after {timeout_s:.0f} s"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
