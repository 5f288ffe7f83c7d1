"""Keep secrets and bulk out of the records: redact secret environment values, cap long output.

Everything a step prints, and the command text itself, ends up in SQLite rows and JSONL lines that
people copy into bug reports. So before anything is stored, the values of environment variables whose
names look secret are replaced by ``***``, and output longer than a limit keeps only its head and tail
with a marker saying how much was left out. Redaction happens on the full text *before* capping, so a
secret cut in half by the cap can never leak its visible half.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Substrings of variable names whose values are treated as secret (matched case-insensitively).
SECRET_NAME_PARTS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "COOKIE",
    "SESSION",
    "SIGNATURE",
)
_SECRET_NAME = re.compile("|".join(SECRET_NAME_PARTS), re.IGNORECASE)

# Values shorter than this are not redacted: replacing every "1" or "yes" in the output would
# destroy it without protecting anything.
MIN_SECRET_LENGTH = 4

MASK = "***"

# Default cap for each stored stream, in bytes of UTF-8: half kept from the head, half from the tail.
DEFAULT_OUTPUT_LIMIT = 64 * 1024


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret."""
    return _SECRET_NAME.search(name) is not None


@dataclass(frozen=True)
class Redactor:
    """Replaces a fixed set of secret values by ``***`` wherever they appear."""

    pattern: re.Pattern[str] | None

    @classmethod
    def for_values(cls, values: Iterable[str]) -> Redactor:
        """A redactor for these values; longest first so a secret containing another is masked whole."""
        secrets = sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=lambda v: (-len(v), v))
        if not secrets:
            return cls(None)
        return cls(re.compile("|".join(re.escape(s) for s in secrets)))

    @classmethod
    def for_environment(cls, env: Mapping[str, str]) -> Redactor:
        """A redactor for the values of the secret-looking variables of ``env``."""
        return cls.for_values(value for name, value in env.items() if is_secret_name(name))

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(MASK, text)


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
    return f"{head}\n[… {omitted} bytes omitted …]\n{tail}"


def decode(data: bytes) -> str:
    """Process output as text: UTF-8, undecodable bytes shown as U+FFFD rather than failing the record."""
    return data.decode("utf-8", errors="replace")
