"""Basket logic: turns tracks and scale steps into basket changes (pure, table-tested)."""
