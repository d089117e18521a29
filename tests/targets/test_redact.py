"""Secrets never survive redaction, in any form they are likely to appear in."""

import logging

import pytest

from vecpatch.redact import REDACTED, RedactingFilter, redact_dsn, redact_text, redact_value

SENTINEL = "S3ntinel-pw-7f2c"


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://vecpatch:{SENTINEL}@db1:5432/postgres",
        f"postgres://u:{SENTINEL}@h/db?sslmode=require",
        f"postgresql://u@h/db?sslmode=require&password={SENTINEL}",
        f"postgresql://u@h/db?password={SENTINEL}&sslmode=require",
        f"host=h user=u password={SENTINEL} dbname=db",
        f"host=h password = '{SENTINEL} with space' dbname=db",
        f"error connecting to 'host=h password={SENTINEL}': timeout",
    ],
)
def test_redact_dsn_hides_password(dsn: str) -> None:
    redacted = redact_dsn(dsn)
    assert SENTINEL not in redacted
    assert REDACTED in redacted


def test_redact_dsn_keeps_the_rest() -> None:
    assert redact_dsn("postgresql://u:pw@h:5/db?sslmode=require") == (
        "postgresql://u:***@h:5/db?sslmode=require"
    )
    assert redact_dsn("host=h dbname=db") == "host=h dbname=db"
    assert redact_dsn("postgresql://u@h/db") == "postgresql://u@h/db"


def test_redact_text_replaces_known_secrets_including_url_encoded() -> None:
    secret = "p@ss/word"
    text = f"FATAL: {secret} rejected; uri postgresql://u:p%40ss%2Fword@h/db"
    redacted = redact_text(text, [secret])
    assert secret not in redacted and "p%40ss%2Fword" not in redacted


def test_redact_value_walks_payloads() -> None:
    payload = {
        "dsn": f"postgresql://u:{SENTINEL}@h/db",
        "nested": [{"api_token": "abc"}, f"x {SENTINEL} y"],
        "count": 3,
    }
    cleaned = redact_value(payload, [SENTINEL])
    assert SENTINEL not in repr(cleaned)
    assert cleaned["nested"][0]["api_token"] == REDACTED
    assert cleaned["count"] == 3


def test_logging_filter_redacts_message_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("vecpatch.test.redact")
    flt = RedactingFilter()
    flt.add(SENTINEL)
    caplog.handler.addFilter(flt)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("connecting with %s", f"password={SENTINEL}")
            try:
                raise RuntimeError(f"bad {SENTINEL}")
            except RuntimeError:
                logger.exception("failed")
    finally:
        caplog.handler.removeFilter(flt)
    assert SENTINEL not in caplog.text
    assert "connecting with password=***" in caplog.text


def test_counts_and_flags_under_secret_sounding_keys_are_kept() -> None:
    from vecpatch.redact import REDACTED, redact_value

    doc = {"pass": 12, "fail": 1, "password": "hunter22", "token": True, "secret": None,
           "passwd": ["x"], "cases": {"pass": 3}}  # fmt: skip
    cleaned = redact_value(doc)
    assert cleaned["pass"] == 12 and cleaned["cases"] == {"pass": 3} and cleaned["token"] is True
    assert cleaned["password"] == REDACTED and cleaned["secret"] is None
    assert cleaned["passwd"] == REDACTED
