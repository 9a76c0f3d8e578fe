"""The only entry for cli/ and api/: open a ledger once, submit signed commands, query.

services never hold an actor's private key: callers sign (the CLI from the
actor's own key file) and submit the signed bytes.
"""
