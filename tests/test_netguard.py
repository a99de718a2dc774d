"""The test-suite's own guard: nothing in tests can reach beyond loopback."""

from __future__ import annotations

import socket

import pytest


def test_non_loopback_connections_are_refused_before_any_packet():
    with pytest.raises(OSError, match="netguard"):
        socket.create_connection(("192.0.2.1", 9), timeout=1)
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="netguard"):
        sock.connect(("192.0.2.1", 9))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.com", 443)


def test_loopback_still_works():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
