"""Saving: the records of every run, durable and checkable.

The run store (SQLite), the audit log (JSONL), the patch ledger, the repository lock, crash recovery,
``uet runs verify`` and atomic file writes. Saving knows nothing of how a run is executed: it imports
nothing from ``execution``.
"""
