"""The store's checkout host: authoritative baskets, the ledger, checkout, receipts, the API."""
