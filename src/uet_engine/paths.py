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
character), and returns such a path; ``may_overlap`` gives the same answer with shortcuts for the common
shapes (a plain path, a leading ``**``). That is exact for paths as git reports them (relative,
``/``-separated, no empty, ``.`` or ``..`` segment): there are no false positives to document, except an
entry whose character class Python's ``re`` refuses (``[z-a]``): that class is taken as any character.
Exact also means: as an entry covers what is below it, ``**/*.lock`` overlaps ``src/a.py`` (both match
``src/a.py/x.lock``); only an entry ending in an exact ``*`` stays clear of it.

**Many entries.** For every path an entry matches, that path followed by ``/`` starts with the entry's
literal start (``_literal_key``: ``src/a`` for ``src/a*.py``), so two entries can only overlap when one's
key is a prefix of the other's. ``PathIndex`` groups entries by key: each is compared only with those
whose key is a prefix of its own (a few dictionary lookups) or extends it (a ``bisect`` range), never
with all the others. What stays quadratic is inherent or rare: an entry starting with a wildcard is
compared with every entry (``**/*.lock`` does overlap nearly all of them), and entries with the same key
(``src/*_a.py``, ``src/*_b.py``, ...) with each other.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple, TypeVar

from pathspec import PathSpec, RegexPattern
from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

_WILDCARD = re.compile(r"[*?\[]")
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
    literal: bool  # no token has a wildcard: the entry is one path (and what is below it)


def _entry(tokens: list[str], tail: int) -> _Entry:
    return _Entry(tuple(tokens), tail, _WILDCARD.search("/".join(tokens)) is None)


def _parse_entry(entry: str) -> _Entry:
    """Mirrors ``GitIgnoreBasicPattern``'s normalisation of ``"/" + entry`` (see ``compile_entry``)."""
    text = ("/" + entry).rstrip()
    segments = text.split("/")[1:]
    below_only = segments[-1] == "" and text != "/"
    if segments[-1] == "":
        segments[-1] = _DSTAR
    tokens = [s for i, s in enumerate(segments) if not (s == _DSTAR and i and segments[i - 1] == _DSTAR)]
    if tokens == [_DSTAR]:  # "**" is every path; "**/" every path below a folder
        return _entry(["*"] if below_only else [], _BELOW)
    if tokens[-1] == _DSTAR:
        return _entry(tokens[:-1], _BELOW)
    return _entry(tokens, _EXACT if tokens[-1] == "*" else _COVER)


_parse = lru_cache(maxsize=4096)(_parse_entry)


def _first_wildcard(text: str) -> int:
    found = _WILDCARD.search(text)
    return len(text) if found is None else found.start()


def _literal_key(entry: str) -> str:
    """The entry's literal start: its leading wildcard-free segments, each followed by ``/``, then the
    characters of the next segment before its first wildcard (``""`` for ``**/*.py``, ``src/a`` for
    ``src/a*.py``).

    For every path the entry matches, the path followed by ``/`` starts with the key, so two entries
    whose keys are not prefixes of one another never overlap (``src/`` is not a prefix of ``src2/``).
    """
    key = _plain_key(entry)
    return _key(_parse(entry)) if key is None else key


def _plain_key(entry: str) -> str | None:
    """The key of a plain path (the common case), found without parsing; ``None`` for other entries."""
    last = entry[-1:]
    if "*" not in entry and "?" not in entry and "[" not in entry and last != "/" and not last.isspace():
        return entry + "/"
    return None


def _key(entry: _Entry) -> str:
    key = []
    for token in entry.tokens:
        cut = _first_wildcard(token)
        if cut < len(token):
            key.append(token[:cut])
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
    literal: str  # the one character it accepts, or "" for ``?`` and classes


_STAR = None  # a "*" inside a segment: any run of characters
_ANY_CHAR = _Char(re.compile(r"[^/]", re.DOTALL), "a", "")
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
            out.append(_literal_char(char))
    return tuple(out)


@lru_cache(maxsize=1024)
def _literal_char(char: str) -> _Char:
    return _Char(re.compile(re.escape(char), re.DOTALL), char, char)


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
    return _Char(regex, pool + _EDGES, "")


def _common_char(a: _Char, b: _Char = _ANY_CHAR) -> str | None:
    for char in a.pool + b.pool + _EDGES:
        if char != "/" and a.regex.fullmatch(char) and b.regex.fullmatch(char):
            return char
    return None


@lru_cache(maxsize=65536)
def _shared_segment(a: str | None, b: str | None) -> str | None:
    """A non-empty segment both globs match (``None`` for a glob: any segment), or ``None`` if there is none."""
    if a is None or b is None:
        return _example(b if a is None else a)
    for one, other in ((a, b), (b, a)):
        if _first_wildcard(one) == len(one):  # a plain name: does the glob match it?
            return one if one and _fits(other, one) else None
    ga, gb = _glob(a), _glob(b)
    if not _ends_agree(ga, gb):
        return None
    return _char_search(ga, gb)


def _example(glob: str | None) -> str | None:
    """A non-empty segment the glob matches: stars give nothing, each other position a character."""
    if glob is None:
        return "a"
    chars = [c.literal or _common_char(c) if c is not _STAR else "" for c in _glob(glob)]
    if None in chars:
        return None
    return "".join(c for c in chars if c) or ("a" if _STAR in _glob(glob) else None)


def _ends_agree(ga: tuple[_Char | None, ...], gb: tuple[_Char | None, ...]) -> bool:
    """The quick refusal: the two globs' fixed first and last characters must agree (one's the other's
    prefix, or suffix), and without a star both have the same length."""
    if _STAR not in ga and _STAR not in gb and len(ga) != len(gb):
        return False
    (pa, sa), (pb, sb) = _fixed_ends(ga), _fixed_ends(gb)
    return (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa))


def _fixed_ends(glob: tuple[_Char | None, ...]) -> tuple[str, str]:
    def run(items: Iterable[_Char | None]) -> str:
        return "".join(itertools.takewhile(bool, (c.literal if c is not _STAR else "" for c in items)))

    return run(glob), run(reversed(glob))[::-1]


def _char_search(ga: tuple[_Char | None, ...], gb: tuple[_Char | None, ...]) -> str | None:
    """Breadth-first over (position in a, position in b, consumed a character), with the way back."""
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
    return _search(_parse(a), _parse(b))


def _search(ea: _Entry, eb: _Entry) -> str | None:
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
    return a == b or "\\" in a + b or _overlap(_parse(a), _parse(b))


def _overlap(ea: _Entry, eb: _Entry) -> bool:
    """``shared_path`` as a yes or no, with shortcuts for the common shapes."""
    if (ea.tokens[:1] == (_DSTAR,) and eb.tail != _EXACT) or (eb.tokens[:1] == (_DSTAR,) and ea.tail != _EXACT):
        # "**/..." against an entry that covers what is below its paths: below any of them, the rest of
        # "**/..." finds a path, if either can match anything at all.
        return _can_end(ea, (0, False), 0) and _can_end(eb, (0, False), 0)
    if ea.literal:
        return _meets_literal(eb, ea)
    if eb.literal:
        return _meets_literal(ea, eb)
    return _search(ea, eb) is not None


def _meets_literal(entry: _Entry, literal: _Entry) -> bool:
    """Whether ``entry`` matches a path ``literal`` matches: run ``entry`` over the literal's segments,
    then ask whether it can end after as many more (any) segments as the literal allows."""
    if "" in literal.tokens:
        return False  # an empty segment: no path git reports
    sides = {(0, False)}
    for segment in literal.tokens:
        sides = {nxt for side in sides for glob, nxt in _moves(entry, side) if glob is None or _fits(glob, segment)}
        if not sides:
            return False
    fewest = 1 if literal.tail == _BELOW else 0
    return any(_can_end(entry, side, fewest) for side in sides)


def _can_end(entry: _Entry, side: _Side, fewest: int) -> bool:
    """Whether ``entry`` accepts some path that goes on from ``side`` by at least ``fewest`` segments."""
    rest = entry.tokens[side[0] :]
    if not all(map(_satisfiable, rest)):
        return False
    # Open-ended unless the entry ends in an exact "*" with no "**" left: then exactly len(rest) more.
    return entry.tail != _EXACT or _DSTAR in rest or len(rest) >= fewest


def _satisfiable(glob: str) -> bool:
    """Whether some non-empty segment matches the segment glob (or ``**``): all but ``""`` and odd classes."""
    return glob != "" and ("[" not in glob or _example(glob) is not None)


@lru_cache(maxsize=4096)
def _segment_regex(glob: str) -> re.Pattern[str]:
    return re.compile("".join("[^/]*" if c is _STAR else c.regex.pattern for c in _glob(glob)), re.DOTALL)


def _fits(glob: str, segment: str) -> bool:
    """Whether the (non-empty) path segment matches the segment glob."""
    return _segment_regex(glob).fullmatch(segment) is not None


# --- many entries ---------------------------------------------------------------------------------


class PathIndex:
    """The entries of many file scopes, keyed by literal start to find those that overlap (module doc)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._by_key: dict[str, list[str]] = {}
        self._parsed: dict[str, _Entry] = {}
        for entry in dict.fromkeys(entries):
            if (key := _plain_key(entry)) is None:
                parsed = self._parsed[entry] = _parse_entry(entry)
                key = _key(parsed)
            self._by_key.setdefault(key, []).append(entry)
        self._keys = sorted(self._by_key)
        # The lengths of the keys that end inside a segment (or are empty): cuts to try besides each "/".
        self._inner_cuts = sorted({len(key) for key in self._by_key if not key.endswith("/")})
        self._asked: dict[str, list[str]] = {}  # overlapping(), per entry: read_only entries repeat a lot

    def _shorter(self, key: str) -> Iterator[list[str]]:
        """The groups of entries whose key is a proper prefix of ``key``."""
        by_key = self._by_key
        for n in self._inner_cuts:
            if n >= len(key):
                break
            if (n == 0 or key[n - 1] != "/") and (group := by_key.get(key[:n])) is not None:
                yield group
        cut = key.find("/")
        while 0 <= cut < len(key) - 1:
            if (group := by_key.get(key[: cut + 1])) is not None:
                yield group
            cut = key.find("/", cut + 1)

    def _overlap(self, a: str, b: str) -> bool:
        if "\\" in a or "\\" in b:
            return True  # see may_overlap
        parsed = self._parsed
        ea = parsed.get(a) or parsed.setdefault(a, _parse_entry(a))
        eb = parsed.get(b) or parsed.setdefault(b, _parse_entry(b))
        return _overlap(ea, eb)

    def pairs(self) -> list[tuple[str, str]]:
        """Every pair of distinct indexed entries that overlap, each once as (smaller, larger), sorted."""
        found: list[tuple[str, str]] = []
        # In sorted order, the keys that are prefixes of the current one are a stack: any key between a
        # prefix and the current key starts with that prefix too, so a key leaves only for good.
        prefixes: list[str] = []
        for key in self._keys:
            while prefixes and not key.startswith(prefixes[-1]):
                prefixes.pop()
            group = self._by_key[key]
            if prefixes or len(group) > 1:  # most keys are one plain path with no shorter key
                shorter = [other for prefix in prefixes for other in self._by_key[prefix]]
                for i, entry in enumerate(group):
                    found.extend(_ordered(other, entry) for other in group[:i] if self._overlap(other, entry))
                    found.extend(_ordered(other, entry) for other in shorter if self._overlap(other, entry))
            prefixes.append(key)
        return sorted(found)

    def overlapping(self, entry: str) -> list[str]:
        """The indexed entries other than ``entry`` itself that overlap it, sorted."""
        found = self._asked.get(entry)
        if found is None:
            key = _literal_key(entry)
            candidates = [other for group in self._shorter(key) for other in group]
            keys = self._keys
            for i in range(bisect_left(keys, key), len(keys)):
                if not keys[i].startswith(key):
                    break
                candidates.extend(self._by_key[keys[i]])
            found = self._asked[entry] = sorted(c for c in candidates if c != entry and self._overlap(c, entry))
        return list(found)


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)
