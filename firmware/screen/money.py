"""Amounts and weights as the shopper reads them (Swedish style for SEK).

Plain spaces (the page keeps amounts on one line with CSS), so what a test or a screen reader
gets is exactly the text the spec shows.

    kr(2450) == "24,50 kr"; kr(123456) == "1 234,56 kr"; grams_label(412) == "412 g"
"""

from __future__ import annotations


def kr(minor: int, currency: str = "SEK") -> str:
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), 100)
    grouped = f"{major:,}".replace(",", " ")
    unit = "kr" if currency == "SEK" else currency
    return f"{sign}{grouped},{cents:02d} {unit}"


def grams_label(grams: int) -> str:
    if grams < 1000:
        return f"{grams} g"
    kg, g = divmod(grams, 1000)
    return f"{kg},{g:03d} kg"
