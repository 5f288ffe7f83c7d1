"""When two ``file_scope`` entries name the same files: equal paths, or a glob that matches the other entry.

Entries are POSIX paths or ``fnmatch`` globs (``*``, ``?``, ``[...]``; ``*`` also crosses ``/``). The rule is
deliberately simple and documented: two entries overlap when they are equal or when one, read as a glob,
matches the other read as a plain string. So ``src/*.py`` overlaps ``src/a.py`` and ``src/**``, but not
``src/a*`` (which shares files with it without either pattern matching the other): such pairs are
missed, never invented.

A glob can only match strings that start with its literal prefix (the part before the first wildcard),
which keeps lookups near linear on large sets: no entry is compared with every other one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from fnmatch import fnmatchcase

_WILDCARDS = "*?["


def is_glob(entry: str) -> bool:
    return any(char in entry for char in _WILDCARDS)


def overlap(a: str, b: str) -> bool:
    """Whether two entries name the same files by the rule above: equal, or one (a glob) matches the other."""
    return a == b or (is_glob(a) and fnmatchcase(b, a)) or (is_glob(b) and fnmatchcase(a, b))


def literal_prefix(entry: str) -> str:
    """The part of ``entry`` before its first wildcard (all of it for a plain path)."""
    cut = min((i for i in (entry.find(c) for c in _WILDCARDS) if i >= 0), default=len(entry))
    return entry[:cut]


class PathIndex:
    """The entries of many file scopes, indexed to find those that overlap a given entry."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._sorted = sorted(set(entries))
        self._globs_by_prefix: dict[str, list[str]] = {}
        for entry in self._sorted:
            if is_glob(entry):
                self._globs_by_prefix.setdefault(literal_prefix(entry), []).append(entry)

    def globs(self) -> list[str]:
        """The indexed entries that are globs, sorted."""
        return sorted(g for globs in self._globs_by_prefix.values() for g in globs)

    def overlapping(self, entry: str) -> list[str]:
        """The indexed entries other than ``entry`` itself that overlap it, sorted (see the module doc)."""
        found: set[str] = set()
        if self._globs_by_prefix:
            for cut in range(len(entry) + 1):
                for glob in self._globs_by_prefix.get(entry[:cut], ()):
                    if glob != entry and fnmatchcase(entry, glob):
                        found.add(glob)
        if is_glob(entry):
            prefix = literal_prefix(entry)
            entries = self._sorted
            for i in range(bisect_left(entries, prefix), len(entries)):
                other = entries[i]
                if not other.startswith(prefix):
                    break
                if other != entry and fnmatchcase(other, entry):
                    found.add(other)
        return sorted(found)
