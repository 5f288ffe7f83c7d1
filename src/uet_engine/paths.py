"""The one glob dialect of ``file_scope`` entries: which paths an entry covers, and when two entries overlap.

``uet plan`` (may two parallel phases write the same file?) and ``uet run`` (did a workstream write only
inside its scope?) must read an entry the same way, or the plan passes what the run then lets both phases
do, and reports clashes that can never happen. Both use this module.

**Matching** is ``.gitignore`` line matching (``pathspec``'s ``gitignore`` flavour), always anchored at
the repository root (a ``/`` is put in front of every entry, which also makes ``!`` and ``#`` literal):

- ``*`` and ``?`` match within one path segment, ``[abc]`` / ``[!abc]`` one character of a class;
- ``**`` as a whole segment matches any number of segments (``src/**/test_*.py``; ``docs/**`` is
  everything below ``docs``);
- an entry covers everything below the paths it names (``docs`` covers ``docs/a/b.md``, ``src/*.py``
  covers ``src/a.py/x``), except when its last segment is exactly ``*``: ``docs/*`` is the entries of
  ``docs`` only, not ``docs/sub/b.md``; a trailing ``/`` means "below": ``docs/`` is ``docs/**``;
- an entry never matches below the root on its own: ``setup.py`` and ``*.py`` are top-level only;
- trailing white space is dropped, as git does (``docs `` is ``docs``).

Two refinements over pathspec's regular expressions, so that the rules above hold for every path git can
report (line breaks are legal in file names): ``$`` is read as the end of the path (Python's ``$`` also
matches before a final line break) and ``.`` matches a line break too. The guide
``docs/guides/phase-spec.md`` shows the rules on examples; a test keeps it true.

**Overlap.** Two entries overlap when some path matches both. ``shared_path`` decides it by walking both
entries in step, segment by segment (a product of two small automata; within a segment, character by
character), and returns such a path. That is exact for paths as git reports them (relative,
``/``-separated, no empty, ``.`` or ``..`` segment): there are no false positives to document, except an
entry whose character class Python's ``re`` refuses (``[z-a]``): that class is taken as any character.

**Many entries.** Every path an entry matches starts with the entry's leading literal segments, so two
entries can only overlap when one's literal prefix is a segment prefix of the other's. ``PathIndex``
keys entries by that prefix: each entry is compared only with those whose prefix is a prefix of its own
(a few dictionary lookups) or extends it (a ``bisect`` range), never with all the others.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple, TypeVar

from pathspec import PathSpec, RegexPattern
from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

_WILDCARDS = "*?["
_DSTAR = "**"

# What may follow the segments an entry's tokens matched.
_COVER = 0  # anything, or nothing: the entry covers what is below
_EXACT = 1  # nothing: a last segment of exactly "*"
_BELOW = 2  # at least one more segment: a last "**" or a trailing "/"


# --- matching -------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def compile_entry(entry: str) -> RegexPattern:
    """The compiled matcher of one entry (see the module doc); ``re.error`` for a class ``re`` refuses."""
    regex, include = GitIgnoreBasicPattern.pattern_to_regex("/" + entry)
    assert regex is not None and include, entry  # an anchored entry is never blank, a comment or a negation
    # "$" would also match before a final line break: make it the end of the path. "." must match one too.
    regex = regex.replace("(?:/|$)", r"(?:/|\Z)")
    if regex.endswith("/?$"):
        regex = regex[:-1] + r"\Z"
    return RegexPattern(re.compile(regex, re.DOTALL), include)


def compile_entries(entries: Iterable[str]) -> PathSpec[RegexPattern]:
    """One matcher for many entries: a path matches when it matches any of them."""
    # The "simple" backend runs the compiled expressions above; re2 or hyperscan would recompile the text.
    return PathSpec([compile_entry(entry) for entry in entries], backend="simple")


def matches(entry: str, path: str) -> bool:
    """Whether ``entry`` covers the repository path ``path`` (POSIX, relative), as ``uet run`` checks it."""
    return _one_entry(entry).match_file(path)


@lru_cache(maxsize=4096)
def _one_entry(entry: str) -> PathSpec[RegexPattern]:
    return compile_entries([entry])


# --- one entry as segments ------------------------------------------------------------------------


class _Entry(NamedTuple):
    """An entry as pathspec normalises it: segment globs (or ``**``), then what may follow them."""

    tokens: tuple[str, ...]
    tail: int


@lru_cache(maxsize=65536)
def _parse(entry: str) -> _Entry:
    """Mirrors ``GitIgnoreBasicPattern``'s normalisation of ``"/" + entry`` (see ``compile_entry``)."""
    text = ("/" + entry).rstrip()
    segments = text.split("/")[1:]
    below_only = segments[-1] == "" and text != "/"
    if segments[-1] == "":
        segments[-1] = _DSTAR
    tokens = [s for i, s in enumerate(segments) if not (s == _DSTAR and i and segments[i - 1] == _DSTAR)]
    if tokens == [_DSTAR]:  # "**" is every path; "**/" every path below a folder
        return _Entry(("*",) if below_only else (), _BELOW)
    if tokens[-1] == _DSTAR:
        return _Entry(tuple(tokens[:-1]), _BELOW)
    return _Entry(tuple(tokens), _EXACT if tokens[-1] == "*" else _COVER)


def literal_key(entry: str) -> str:
    """The entry's leading wildcard-free segments, each followed by ``/`` (``""`` when it starts with a glob).

    Every path the entry matches starts with them, so two entries whose keys are not prefixes of one
    another never overlap (``src/`` is not a prefix of ``src2/``: the ``/`` marks the segment's end).
    """
    if not any(c in entry for c in _WILDCARDS) and entry[-1:] != "/" and entry == entry.rstrip():
        return entry + "/"  # a plain path: the common case, without parsing
    key = []
    for token in _parse(entry).tokens:
        if any(c in token for c in _WILDCARDS):
            break
        key.append(token + "/")
    return "".join(key)


_State = TypeVar("_State")


def _way_back(back: dict[_State, tuple[_State, str] | None], state: _State) -> list[str]:
    """The labels of the steps a breadth-first search took to reach ``state``, first to last."""
    labels = []
    step = back[state]
    while step is not None:
        state, label = step
        labels.append(label)
        step = back[state]
    return labels[::-1]


# --- one segment: globs over characters -----------------------------------------------------------


class _Char(NamedTuple):
    """One character a glob position accepts: ``regex`` decides; ``pool`` holds characters to try."""

    regex: re.Pattern[str]
    pool: str


_STAR = None  # a "*" inside a segment: any run of characters
_ANY_CHAR = _Char(re.compile(r"[^/]", re.DOTALL), "a")
_EDGES = "\x00" + chr(0x10FFFF) + ".0"  # with the class's own characters (and neighbours): see _class


@lru_cache(maxsize=4096)
def _glob(segment: str) -> tuple[_Char | None, ...]:
    """The segment glob as ``_STAR`` and ``_Char`` positions, with pathspec's reading of ``[``."""
    out: list[_Char | None] = []
    i, end = 0, len(segment)
    while i < end:
        char = segment[i]
        i += 1
        if char == "*":
            if not out or out[-1] is not _STAR:
                out.append(_STAR)
        elif char == "?":
            out.append(_ANY_CHAR)
        elif char == "[" and (close := _class_end(segment, i)) > 0:
            out.append(_class(segment[i : close - 1]))
            i = close
        else:
            out.append(_Char(re.compile(re.escape(char), re.DOTALL), char))
    return tuple(out)


def _class_end(segment: str, i: int) -> int:
    """One past the ``]`` closing the class opened just before ``i``, or 0 (then ``[`` is literal)."""
    j = i + (segment[i : i + 1] in ("!", "^"))
    j += segment[j : j + 1] == "]"
    close = segment.find("]", j)
    return close + 1 if close >= 0 else 0


def _class(body: str) -> _Char:
    """A character class as pathspec writes it for ``re``; the pool finds a member of any intersection.

    A class is a union of ranges whose ends are characters of its text (negated: their neighbours or
    the ends of Unicode), so if two classes share a character they share one of those.
    """
    negated = body[:1] in ("!", "^")
    text = "[" + ("^" + body[1:] if negated else body) + "]"
    pool = "".join(chr(n) for c in body for n in (ord(c) - 1, ord(c), ord(c) + 1) if 0 <= n <= 0x10FFFF)
    try:
        regex = re.compile(text, re.DOTALL)
    except re.error:  # pathspec cannot compile it either; taken as any character (see the module doc)
        return _ANY_CHAR
    return _Char(regex, pool + _EDGES)


def _common_char(a: _Char, b: _Char) -> str | None:
    for char in a.pool + b.pool + _EDGES:
        if char != "/" and a.regex.fullmatch(char) and b.regex.fullmatch(char):
            return char
    return None


@lru_cache(maxsize=65536)
def _shared_segment(a: str | None, b: str | None) -> str | None:
    """A non-empty segment both globs match (``None`` for a glob: any segment), or ``None`` if there is none."""
    ga, gb = _glob("*" if a is None else a), _glob("*" if b is None else b)
    # Breadth-first over (position in a, position in b, consumed a character), with the way back.
    start = (0, 0, False)
    back: dict[tuple[int, int, bool], tuple[tuple[int, int, bool], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        i, j, some = state
        if some and i == len(ga) and j == len(gb):
            return "".join(_way_back(back, state))
        moves: list[tuple[tuple[int, int, bool], str]] = []
        if i < len(ga) and ga[i] is _STAR:
            moves.append(((i + 1, j, some), ""))
        if j < len(gb) and gb[j] is _STAR:
            moves.append(((i, j + 1, some), ""))
        if i < len(ga) and j < len(gb):
            ca, cb = ga[i], gb[j]
            char = _common_char(ca or _ANY_CHAR, cb or _ANY_CHAR)
            if char is not None:
                moves.append(((i + (ca is not _STAR), j + (cb is not _STAR), True), char))
        for nxt, char in moves:
            if nxt not in back:
                back[nxt] = (state, char)
                queue.append(nxt)
    return None


# --- two entries ----------------------------------------------------------------------------------

_Side = tuple[int, bool]  # position in the tokens; whether a segment was taken after them


def _moves(entry: _Entry, side: _Side) -> Iterator[tuple[str | None, _Side]]:
    """(segment glob, or ``None`` for any segment; next side) for each way to take one more path segment."""
    i = side[0]
    tokens = entry.tokens
    while i < len(tokens):
        if tokens[i] == _DSTAR:
            yield None, (i, False)
            i += 1
        else:
            yield tokens[i], (i + 1, False)
            return
    if entry.tail != _EXACT:
        yield None, (i, True)


def _done(entry: _Entry, side: _Side) -> bool:
    """Whether the path may end here."""
    i, after = side
    while i < len(entry.tokens) and entry.tokens[i] == _DSTAR:
        i, after = i + 1, False
    return i == len(entry.tokens) and (entry.tail == _COVER or after == (entry.tail == _BELOW))


def shared_path(a: str, b: str) -> str | None:
    """A path both entries match, or ``None`` when there is none (see the module doc for how)."""
    ea, eb = _parse(a), _parse(b)
    start: tuple[_Side, _Side] = ((0, False), (0, False))
    back: dict[tuple[_Side, _Side], tuple[tuple[_Side, _Side], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if _done(ea, state[0]) and _done(eb, state[1]):
            return "/".join(_way_back(back, state))
        for glob_a, next_a in _moves(ea, state[0]):
            for glob_b, next_b in _moves(eb, state[1]):
                nxt = (next_a, next_b)
                if nxt not in back and (segment := _shared_segment(glob_a, glob_b)) is not None:
                    back[nxt] = (state, segment)
                    queue.append(nxt)
    return None


def may_overlap(a: str, b: str) -> bool:
    """Whether some path matches both entries, so two phases writing them may write the same file.

    Entries are ``RepoPath`` values, which have no backslash; one with a backslash (an escape in
    gitignore, not modelled here) is taken to overlap everything rather than guessed at.
    """
    return a == b or "\\" in a + b or shared_path(a, b) is not None


# --- many entries ---------------------------------------------------------------------------------


class PathIndex:
    """The entries of many file scopes, keyed by literal prefix to find those that overlap (module doc)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._by_key: dict[str, list[str]] = {}
        for entry in sorted(set(entries)):
            self._by_key.setdefault(literal_key(entry), []).append(entry)
        self._keys = sorted(self._by_key)

    def _shorter(self, key: str) -> Iterator[list[str]]:
        """The entries whose key is a proper prefix of ``key`` (whole segments)."""
        if key and "" in self._by_key:
            yield self._by_key[""]
        cut = key.find("/")
        while 0 <= cut < len(key) - 1:
            if (found := self._by_key.get(key[: cut + 1])) is not None:
                yield found
            cut = key.find("/", cut + 1)

    def pairs(self) -> list[tuple[str, str]]:
        """Every pair of distinct indexed entries that overlap, each once as (smaller, larger), sorted."""
        found: list[tuple[str, str]] = []
        for key, group in self._by_key.items():
            shorter = [other for entries in self._shorter(key) for other in entries]
            for i, entry in enumerate(group):
                found.extend((group[k], entry) for k in range(i) if may_overlap(group[k], entry))
                found.extend(_ordered(other, entry) for other in shorter if may_overlap(other, entry))
        return sorted(found)

    def overlapping(self, entry: str) -> list[str]:
        """The indexed entries other than ``entry`` itself that overlap it, sorted."""
        key = literal_key(entry)
        candidates = [other for group in self._shorter(key) for other in group]
        keys = self._keys
        for i in range(bisect_left(keys, key), len(keys)):
            if not keys[i].startswith(key):
                break
            candidates.extend(self._by_key[keys[i]])
        return sorted(other for other in candidates if other != entry and may_overlap(other, entry))


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)
