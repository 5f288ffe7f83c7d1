"""Secret redaction and head/tail capping of stored output."""

from __future__ import annotations

from uet_engine.detection.redact import MASK, Redactor, cap, is_secret_name


def test_secret_names_are_recognised_case_insensitively() -> None:
    for name in ("GITHUB_TOKEN", "db_password", "AWS_SECRET_ACCESS_KEY", "API_KEY", "MY_PASSWD", "AUTH_HEADER"):
        assert is_secret_name(name), name
    for name in ("PATH", "HOME", "LANG", "PYTHONPATH"):
        assert not is_secret_name(name), name


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
