"""The domain: aggregates, events and the one pure decision per command (no I/O).

Importing the package declares every event topic (domain/topics.py) before
any code can ask eventsourcing for a topic.
"""

from ledger.domain import topics as _topics  # noqa: F401  (declares topics and commands)
