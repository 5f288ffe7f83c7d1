"""Error detection: what went wrong in a task, named and structured.

The file-scope check, secret redaction, error codes and events, and the execution-log rows pattern
automation mines. Detection reads what execution produced; it never writes a record itself (saving
does) and never runs a process.
"""
