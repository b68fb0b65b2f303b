"""The cart firmware: camera -> detector -> tracker -> basket -> outbox -> MQTT, on a Pi."""
