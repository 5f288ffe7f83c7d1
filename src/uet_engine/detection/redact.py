"""Keep secrets and bulk out of the records: redact secret values, cap long output, find secrets in patches.

Everything a step prints, and the command text itself, ends up in SQLite rows and JSONL lines that
people copy into bug reports. So before anything is stored:

- the values of environment variables whose **whole name** matches ``SECRET_NAME_PATTERNS``
  (``*_TOKEN``, ``*_PASSWORD``, ``*_KEY``, ``DATABASE_URL``, …; case-insensitive) are replaced by ``***``,
  and so are their base64, URL-encoded and hex forms, which is how they leak through ``curl -v``, HTTP
  headers and dumps. Names are matched whole, never by substring, so ``SSH_AUTH_SOCK``,
  ``GIT_AUTHOR_NAME``, ``XDG_SESSION_TYPE`` or ``NOX_CURRENT_SESSION`` stay readable (a substring rule
  masked the word ``tests`` in every path of a run under ``nox -s tests``);
- the password of any URL with userinfo (``scheme://user:password@host``) is a secret too, whichever
  variable holds it, and any such password in the text is masked wherever it appears;
- output longer than a limit keeps only its head and tail with a marker saying how much was left out.
  Output is streamed into a bounded ``Capture`` (never the whole of it in memory), and redaction runs on
  windows far wider than what is kept, so a secret cut by the cap can never leak its visible half.

A patch containing a secret value is refused by the worker (``Redactor.files_with_secrets``), so a
secret a step wrote into a file never reaches ``.ledger/patches``.
"""

from __future__ import annotations

import base64
import functools
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import translate
from typing import Final
from urllib.parse import quote, quote_plus

# Whole variable names (fnmatch, matched upper-cased) whose values are secret.
SECRET_NAME_PATTERNS: Final = (
    "TOKEN",
    "*_TOKEN",
    "SECRET",
    "*_SECRET",
    "PASSWORD",
    "*_PASSWORD",
    "*_PASSWD",
    "*_PASS",
    "*_PASSPHRASE",
    "*_PAT",
    "API_KEY",
    "*_KEY",
    "*_CREDENTIALS",
    "*_CREDENTIAL",
    "*_COOKIE",
    "*_AUTH",
    "*_DSN",
    "*_CONNECTION_STRING",
    "DATABASE_URL",
    "*_DATABASE_URL",
)

# Values shorter than this are not redacted: replacing every "1" or "yes" in the output would
# destroy it without protecting anything.
MIN_SECRET_LENGTH = 4

MASK = "***"

# Default cap for each stored stream, in bytes of UTF-8: half kept from the head, half from the tail.
DEFAULT_OUTPUT_LIMIT = 64 * 1024

# How much of each end of a stream is kept in memory while a command runs: what a success pattern is
# matched against when the output is larger than twice this, and the span redaction sees around the cap.
MATCH_WINDOW = 4 * 1024 * 1024

# scheme://user:password@ — the password is group 2 (user may be empty, the password may not). Every
# repetition is bounded, so the search stays linear in the text whatever it holds.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s/:@]{0,256}:)([^\s/@]{1,1024})@")


# The patterns as one regular expression (fnmatch's own translation): one match per name, not one per pattern.
_SECRET_NAME = re.compile("|".join(f"(?:{translate(pattern)})" for pattern in SECRET_NAME_PATTERNS))


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether an environment variable's whole name says its value is a secret (kept per name: every command of
    a run asks about the same names)."""
    return _SECRET_NAME.match(name.upper()) is not None


def url_passwords(value: str) -> list[str]:
    """The passwords of the URLs with userinfo inside ``value``."""
    return [match.group(2) for match in _URL_PASSWORD.finditer(value)]


def forms_of(secret: str) -> set[str]:
    """A secret and the encodings it leaks in: base64 (standard, URL-safe, unpadded), URL-encoded, hex."""
    data = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret), data.hex(), data.hex().upper()}
    for encoded in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


@dataclass(frozen=True)
class Redactor:
    """Replaces a fixed set of secret values (and URL passwords) by ``***`` wherever they appear."""

    pattern: re.Pattern[str] | None
    longest: int = 0

    @classmethod
    def for_values(cls, values: Iterable[str]) -> Redactor:
        """A redactor for these values and their encoded forms; longest first so a containing secret is masked whole."""
        forms: set[str] = set()
        for value in values:
            if len(value) >= MIN_SECRET_LENGTH:
                forms |= forms_of(value)
        if not forms:
            return cls(None)
        ordered = sorted(forms, key=lambda v: (-len(v), v))
        return cls(re.compile("|".join(re.escape(s) for s in ordered)), len(ordered[0]))

    @classmethod
    def for_environment(cls, env: Mapping[str, str]) -> Redactor:
        """A redactor for the secret variables of ``env`` and every URL password any variable holds."""
        values = [value for name, value in env.items() if is_secret_name(name)]
        values += [password for value in env.values() if "://" in value for password in url_passwords(value)]
        return cls.for_values(values)

    def __call__(self, text: str) -> str:
        if self.pattern is not None:
            text = self.pattern.sub(MASK, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
        return text

    def finds(self, text: str) -> bool:
        """Whether ``text`` holds one of the secret values (or an encoded form of one)."""
        return self.pattern is not None and self.pattern.search(text) is not None

    def files_with_secrets(self, patch: bytes) -> list[str]:
        """The files of a git patch whose changes hold a secret value, in patch order (names only, never values)."""
        if self.pattern is None:
            return []
        text = patch.decode("utf-8", errors="replace")
        found = []
        for part in re.split(r"^(?=diff --git )", text, flags=re.MULTILINE):
            if self.finds(part):
                header = part.split("\n", 1)[0]
                name = header.rsplit(" b/", 1)[-1] if " b/" in header else header
                found.append(name)
        return found


def cap(text: str, limit: int = DEFAULT_OUTPUT_LIMIT) -> str:
    """``text`` if its UTF-8 form fits in ``limit`` bytes, else its head and tail around a marker.

    The marker reads ``[… N bytes omitted …]`` on a line of its own; N counts the UTF-8 bytes left
    out, so the head, the tail and N add up to the original size. Cuts never split a character.
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    half = limit // 2
    head = data[:half].decode("utf-8", errors="ignore")
    tail = data[len(data) - half :].decode("utf-8", errors="ignore")
    omitted = len(data) - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return _marked(head, omitted, tail)


def _marked(head: str, omitted: int, tail: str) -> str:
    return f"{head}\n[… {omitted} bytes omitted …]\n{tail}"


def decode(data: bytes) -> str:
    """Process output as text: UTF-8, undecodable bytes shown as U+FFFD rather than failing the record."""
    return data.decode("utf-8", errors="replace")


class Capture:
    """One output stream as it arrives: its first and last ``window`` bytes and its size, nothing more.

    So a command printing 200 MB costs the engine a few MB. The bytes are kept as the chunks they arrived
    in (whole chunks are dropped from the front of the tail), so no large buffer is ever reallocated:
    with two reader threads, repeated multi-megabyte reallocations fragment the heap and the process keeps
    that memory. ``complete`` says whether nothing was dropped (then ``texts`` is the whole output).
    """

    def __init__(self, window: int = MATCH_WINDOW) -> None:
        self.window = window
        self._head: list[bytes] = []
        self._head_size = 0
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.window - self._head_size
        if room > 0:
            part = chunk[:room]
            self._head.append(part)
            self._head_size += len(part)
            chunk = chunk[room:]
        if chunk:
            self._tail.append(chunk)
            self._tail_size += len(chunk)
            while self._tail_size - len(self._tail[0]) >= self.window:
                self._tail_size -= len(self._tail.popleft())

    @property
    def complete(self) -> bool:
        return self.total == self._head_size + self._tail_size

    def _prefix(self, size: int) -> bytes:
        """The first ``size`` bytes kept (of the head, then the tail when complete)."""
        out, left = [], size
        for chunk in (*self._head, *self._tail):
            if left <= 0:
                break
            out.append(chunk[:left])
            left -= len(chunk)
        return b"".join(out)

    def _suffix(self, size: int) -> bytes:
        """The last ``size`` bytes kept (of the tail, reaching back into the head when the tail is shorter)."""
        out: list[bytes] = []
        left = size
        for chunk in reversed((*self._head, *self._tail)):
            if left <= 0:
                break
            out.append(chunk[-left:])
            left -= len(chunk)
        return b"".join(reversed(out))

    def data(self) -> bytes:
        """The whole output when ``complete``; else the head and the tail, back to back."""
        return b"".join(self._head) + b"".join(self._tail)

    def texts(self) -> list[str]:
        """The text a success pattern is searched in: the whole output, or its head and its tail apart."""
        if self.complete:
            return [decode(self.data())]
        tail = b"".join(self._tail)
        return [decode(b"".join(self._head)), decode(tail[len(tail) - self.window :])]

    def stored(self, redact: Redactor, limit: int = DEFAULT_OUTPUT_LIMIT) -> str:
        """Redacted and capped text for the records (``cap`` of the whole when it is small).

        Otherwise only the bytes near what is kept are decoded and redacted: ``half`` of each end plus a
        margin longer than any secret form or URL password, so a secret cut by the cap is still masked whole.
        """
        if self.complete and self.total <= 2 * limit:
            return cap(redact(decode(self.data())), limit)
        half = limit // 2
        need = half + max(redact.longest, 2048) + 2048
        head = redact(decode(self._prefix(need))).encode("utf-8")[:half].decode("utf-8", errors="ignore")
        tail_data = redact(decode(self._suffix(need))).encode("utf-8")
        tail = tail_data[len(tail_data) - half :].decode("utf-8", errors="ignore")
        omitted = self.total - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
        return _marked(head, omitted, tail)
