"""The wire contract between cart and host (MQTT topics and JSON payloads), version 1.

Both sides import this package and nothing else to talk to each other:

    from smartcart.contract import topics, messages, codec
"""

from smartcart.contract import codec, messages, topics
from smartcart.contract.codec import ContractError, decode, encode

__all__ = ["codec", "messages", "topics", "ContractError", "decode", "encode"]
