"""Feeds: the full ledger for authorised auditors, disclosed results for the public."""

from __future__ import annotations

ROUTES: list[object] = []
