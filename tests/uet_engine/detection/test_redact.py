"""Secret redaction and head/tail capping of stored output."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from uet_engine.detection.redact import MASK, Capture, Redactor, cap, is_secret_name

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


def test_files_with_secrets_names_the_files_of_a_patch_never_the_values() -> None:
    redact = Redactor.for_environment({"DEPLOY_TOKEN": "tok-123456"})
    patch = (
        b"diff --git a/ok.txt b/ok.txt\n+fine\n"
        b"diff --git a/conf/app.ini b/conf/app.ini\n+token = tok-123456\n"
        b"diff --git a/enc.txt b/enc.txt\n+" + base64.b64encode(b"tok-123456") + b"\n"
    )
    assert redact.files_with_secrets(patch) == ["conf/app.ini", "enc.txt"]
    assert Redactor.for_values([]).files_with_secrets(patch) == []


def test_a_capture_keeps_head_tail_and_size_and_redacts_across_the_cut() -> None:
    redact = Redactor.for_values(["SECRETVALUE"])
    capture = Capture(window=64)
    data = b"A" * 30 + b"SECRETVALUE" + b"B" * 500 + b"SECRETVALUE" + b"C" * 10
    for i in range(0, len(data), 7):
        capture.feed(data[i : i + 7])
    assert capture.total == len(data) and not capture.complete
    stored = capture.stored(redact, limit=40)
    assert "SECRET" not in stored and "VALUE" not in stored
    assert stored.startswith("A" * 20) and stored.endswith("C" * 10)
    head, tail = capture.texts()
    assert head.startswith("A" * 30) and tail.endswith("C" * 10)


def test_a_small_capture_is_the_whole_output_capped_as_before() -> None:
    capture = Capture(window=1024)
    capture.feed(b"A" * 50 + b"B" * 50)
    assert capture.complete and capture.texts() == ["A" * 50 + "B" * 50]
    assert capture.stored(Redactor.for_values([]), limit=20) == cap("A" * 50 + "B" * 50, 20)


def test_a_complete_capture_larger_than_the_cap_keeps_its_true_ends() -> None:
    """Head full, a short tail: the kept tail reaches back into the head, as ``cap`` of the whole would."""
    data = b"A" * 100 + b"B" * 100 + b"C" * 5
    capture = Capture(window=180)
    capture.feed(data)
    assert capture.complete
    assert capture.stored(Redactor.for_values([]), limit=20) == cap(data.decode(), 20)
