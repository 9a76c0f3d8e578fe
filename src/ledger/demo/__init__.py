"""Deterministic demo data: a realistic city expressed as import rows."""

from ledger.demo.city import City, generate_city, to_csv

__all__ = ["City", "generate_city", "to_csv"]
