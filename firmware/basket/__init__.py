"""Basket logic: turns tracks and scale steps into basket changes (pure, table-tested).

``zone``: which product tracks entered the basket and came to rest (add) or were lifted out
(remove); ``naming``: which product each track is, by voting the recognizer over its best crops;
``fusion``: confirms each with the scale's settled weight step or asks the shopper
(``unresolved``), judging grams by ``weights`` (what a product's item may weigh); ``ledger``:
what is in the basket; ``changes``: the ``BasketChange`` handed to the outbox.
"""
