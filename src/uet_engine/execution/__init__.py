"""Execution: which workstreams run, the coordinator's loop, workers, executors, processes and isolation.

The second stage. It drives planning's output to the end of a run: each workstream in its own git
worktree, each command in its own process group; it hands what happened to detection (scope, redaction,
error events) and to saving (the one writer of every record).
"""
