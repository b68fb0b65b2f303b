"""Simulated cart feeds and training data, rendered from the Grocery Store Dataset."""
