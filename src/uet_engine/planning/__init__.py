"""Planning: the phase set checked as a whole, its dependency graph, the DagSnapshot and its views.

The first stage of the pipeline. It reads phase specs (through ``uet_contracts``) and decides what may run
and in which order; it never runs anything and never writes a record, so it imports nothing from
``execution`` or ``saving``.
"""
