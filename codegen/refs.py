"""The ``$ref``s of one schema version, resolved by a ``referencing.Registry`` of its files.

Every schema has an absolute ``$id`` (``https://uet-contracts.dev/schemas/v1/<file>``), so the registry
holds each file under it and a relative ``$ref`` such as ``common.schema.json#/$defs/Timestamp`` resolves
against the ``$id`` of the file it is written in, offline: the registry has no way to retrieve anything,
so a reference to a file outside the version is an error, never a download.

The bundle and the reference pages need more than the node a reference lands on: which file and which
``$defs`` entry it is, to name the bundled definition and to link its section. The registry returns the
very objects the schemas hold, so that place is looked up by the node's identity; a reference that lands
anywhere but on a whole file or on one of its ``$defs`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from referencing import Registry, Resource
from referencing.exceptions import NoSuchAnchor, PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012

Schema = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """Where a ``$ref`` lands: a schema file, the ``$defs`` entry in it ('' for the whole file), the node."""

    file: str
    name: str
    node: Schema

    @property
    def label(self) -> str:
        """The definition's name, or the file's title for a whole-file reference."""
        return self.name or str(self.node["title"])


class References:
    """Resolves the ``$ref``s written in the schema files ``schemas`` (file name → schema)."""

    def __init__(self, schemas: dict[str, Schema]) -> None:
        self.schemas = schemas
        registry: Registry[Any] = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)) for doc in schemas.values()
        )
        self._resolvers = {file: registry.resolver(base_uri=doc["$id"]) for file, doc in schemas.items()}
        # The pages resolve the same few references again and again (each use, its type, its example).
        self._targets: dict[tuple[str, str], Target] = {}
        self._places: dict[int, tuple[str, str]] = {}
        for file, doc in schemas.items():
            self._places[id(doc)] = (file, "")
            for name, node in doc.get("$defs", {}).items():
                self._places[id(node)] = (file, name)

    def target(self, ref: str, current: str) -> Target:
        """Where ``ref``, written in the file ``current``, points; ``ValueError`` when it points nowhere usable."""
        found = self._targets.get((ref, current))
        if found is None:
            found = self._targets[ref, current] = self._lookup(ref, current)
        return found

    def _lookup(self, ref: str, current: str) -> Target:
        try:
            node = self._resolvers[current].lookup(ref).contents
        except (PointerToNowhere, NoSuchAnchor):
            raise ValueError(f"{current}: $ref {ref!r} points at nothing in its file") from None
        except Unresolvable:
            raise ValueError(f"{current}: $ref {ref!r} names a file that is not a schema of this version") from None
        place = self._places.get(id(node))
        if place is None:
            raise ValueError(f"{current}: $ref {ref!r} must point at a whole file or at one of its $defs")
        return Target(*place, node)
