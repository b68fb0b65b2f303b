"""Load generation and fault harness for the checkout host (docs/reliability.md).

``python -m host.loadgen run|sweep``: N simulated carts (the real signed cart link) against a
private Mosquitto, two host worker processes and a private PostgreSQL, all on loopback.
``services``, ``fleet``: the private services and simulated carts the fault tests use too.
"""
