"""The cart's link to the host: a durable outbox and the MQTT client that drains it.

- ``outbox``: every basket event is written to a local SQLite (WAL) log, with its seq and event
  id, before anything sends it; forgotten only when the host acknowledges it.
- ``mqtt``: ``CartLink``, the paho-mqtt client that drains the outbox in order, resends what is
  unacknowledged on every (re)connect, and carries checkout and the host's answers.
- ``basket``: the running basket folded from the cart's own events (screen and snapshot).

Only ``mqtt`` imports paho; everything else is testable without a broker.
"""
