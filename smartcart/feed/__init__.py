"""The cartfeed/1 recorded-feed format: reading, writing and scoring."""
