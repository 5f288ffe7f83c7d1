"""Turns the canonical schemas in ``schemas/`` into everything derived from them.

The outputs are the generated dataclasses in ``src/uet_contracts/models/`` and the artefacts in
``generated/`` (bundled single-file schemas, the fingerprint manifest, reference pages). Nothing
derived is ever edited by hand: ``python -m codegen --check`` (``nox -s codegen -- --check``)
regenerates into a temporary tree and fails naming every file that differs.
"""
