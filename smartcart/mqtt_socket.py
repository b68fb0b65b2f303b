"""One socket option both MQTT clients (the cart's link and the host's) need.

paho leaves Nagle's algorithm on, so a small packet (an event and the snapshot right behind it,
a PUBACK, an ``Ack``) waits for the peer's delayed ACK: about 40 ms each way, measured on the
cart link and again as 45 of the load run's 45 ms p50 (10 ms without). Set as paho's
``on_socket_open`` callback.
"""

from __future__ import annotations

import socket


def no_delay(client: object, userdata: object, sock: object) -> None:
    """paho ``on_socket_open``: send each packet at once (TCP_NODELAY)."""
    if isinstance(sock, socket.socket):  # ssl.SSLSocket is one too; websockets are not
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
