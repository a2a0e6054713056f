import socket

import pytest


def test_network_guard_refuses_non_loopback_addresses():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(RuntimeError, match="reach the network"):
            sock.connect(("203.0.113.7", 443))
    finally:
        sock.close()
