"""Secret redaction and head/tail capping of stored output."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from uet_engine.detection.redact import MASK, Redactor, cap, is_secret_name

SECRET_NAMES = [
    "GITHUB_TOKEN",
    "TOKEN",
    "db_password",
    "DB_PASS",
    "GH_PAT",
    "AWS_SECRET_ACCESS_KEY",
    "API_KEY",
    "OPENAI_API_KEY",
    "MY_PASSWD",
    "GPG_PASSPHRASE",
    "CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "DOCKER_CREDENTIAL",
    "DATABASE_URL",
    "ANALYTICS_DATABASE_URL",
    "SENTRY_DSN",
    "SESSION_COOKIE",
    "NPM_AUTH",
    "AZURE_CONNECTION_STRING",
]
NOT_SECRET_NAMES = [
    "PATH",
    "HOME",
    "LANG",
    "PYTHONPATH",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "SSH_AUTH_SOCK",
    "XDG_SESSION_TYPE",
    "XDG_SESSION_ID",
    "KEYBOARD_LAYOUT",
    "TOKENIZERS_PARALLELISM",
    "PASSWORD_STORE_DIR",
    "BYPASS_CACHE",
    "COMPAT",
    "MONKEY",
    "AUTHOR",
    "SECRETS_DIR",
    "NOX_CURRENT_SESSION",  # its value is the session name ("tests"), which a substring rule masked in every path
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_recognised_whole_and_case_insensitively(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", NOT_SECRET_NAMES)
def test_names_that_only_contain_a_secret_word_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_values_of_secret_variables_are_masked() -> None:
    redact = Redactor.for_environment({"API_TOKEN": "s3cr3t-value", "PATH": "/usr/bin", "SHORT_KEY": "abc"})
    assert redact("token=s3cr3t-value; path=/usr/bin; abc") == f"token={MASK}; path=/usr/bin; abc"


def test_longest_secret_wins_when_one_contains_another() -> None:
    redact = Redactor.for_values(["abcd", "abcdefgh"])
    assert redact("xx abcdefgh yy abcd") == f"xx {MASK} yy {MASK}"


def test_regex_metacharacters_in_secrets_are_literal() -> None:
    redact = Redactor.for_values(["a.b*c"])
    assert redact("a.b*c aXbbc") == f"{MASK} aXbbc"


def test_no_secrets_leaves_text_alone() -> None:
    assert Redactor.for_environment({"HOME": "/root"})("/root") == "/root"


def test_short_output_is_not_capped() -> None:
    assert cap("hello", 10) == "hello"


def test_long_output_keeps_head_and_tail_and_counts_omitted_bytes() -> None:
    text = "A" * 50 + "B" * 50
    assert cap(text, 20) == "A" * 10 + "\n[… 80 bytes omitted …]\n" + "B" * 10


def test_cap_never_splits_a_character() -> None:
    text = "é" * 20  # 40 bytes
    capped = cap(text, 11)  # 5 bytes each side: two whole characters kept each side
    assert capped == "éé\n[… 32 bytes omitted …]\néé"


def test_encoded_forms_of_a_secret_are_masked_too() -> None:
    secret = "s3cr3t/va+lue!"
    redact = Redactor.for_environment({"DB_PASS": secret})
    b64 = base64.b64encode(secret.encode()).decode()
    forms = [secret, b64, b64.rstrip("="), base64.urlsafe_b64encode(secret.encode()).decode(), quote(secret, safe="")]
    forms += [quote_plus(secret), secret.encode().hex(), secret.encode().hex().upper()]
    for form in forms:
        assert redact(f"<{form}>") == f"<{MASK}>", form


def test_the_password_of_a_url_is_a_secret_whatever_the_variable() -> None:
    redact = Redactor.for_environment({"UPSTREAM": "https://bot:hunter22x@example.com/repo.git"})
    assert redact("pushing with hunter22x") == f"pushing with {MASK}"
    assert redact(quote("hunter22x")) == MASK


def test_any_url_password_in_the_text_is_masked() -> None:
    redact = Redactor.for_values([])
    assert redact("fatal: https://me:p4ss@host/x and postgres://u:pw@db:5432/app") == (
        f"fatal: https://me:{MASK}@host/x and postgres://u:{MASK}@db:5432/app"
    )
    assert redact("see https://example.com/a:b@c? no") == "see https://example.com/a:b@c? no"  # no userinfo


def test_database_url_is_redacted_by_name_and_its_password_by_value() -> None:
    redact = Redactor.for_environment({"DATABASE_URL": "postgres://app:Sup3rSecret@db/app"})
    assert redact("connecting to postgres://app:Sup3rSecret@db/app") == f"connecting to {MASK}"
    assert redact("password Sup3rSecret") == f"password {MASK}"
