"""The shared paho ``on_socket_open`` hook turns Nagle off on the socket it is given."""

from __future__ import annotations

import socket

from smartcart.mqtt_socket import no_delay


def test_no_delay_sets_tcp_nodelay_and_ignores_non_sockets() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        no_delay(None, None, sock)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    no_delay(None, None, object())  # a websocket transport: left alone, no error
