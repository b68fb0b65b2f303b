"""smartcart: shared core of the cart firmware and the checkout host.

- ``smartcart.contract``: the MQTT wire contract both sides import.
- ``smartcart.catalog``: the store's product master data.
- ``smartcart.feed``: the ``cartfeed/1`` recorded-feed format and its scorer.
- ``smartcart.dataset``: where the Grocery Store Dataset is found.
- ``smartcart.cli``: the one command line, ``smartcart``.
"""

__version__ = "0.1.0"
