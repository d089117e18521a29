"""Scan reports: one immutable model and one module per output format."""
