import logging

import pytest

from portal.logging import RedactSecretsFilter
from portal.redaction import MASK, redact_mapping, redact_text
from sync.clients.http import excerpt_of_json


@pytest.mark.parametrize(
    "text",
    [
        '{"appToken": "s3cr3t-value", "x": 1}',
        "X-VTEX-API-AppToken: s3cr3t-value",
        "grant_type=refresh_token&refresh_token=s3cr3t-value&client_id=p",
        "client_secret=s3cr3t-value",
        "Authorization: Bearer s3cr3t-value",
        "{'password': 's3cr3t-value'}",
        "token eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ4In0.s3cr3t-value seen",
    ],
)
def test_secret_values_are_masked(text):
    redacted = redact_text(text)
    assert "s3cr3t-value" not in redacted
    assert MASK in redacted


def test_ordinary_text_is_left_alone():
    text = '{"orderId": "1-01", "invoiceNumber": "LS-1", "courier": "DHL"}'
    assert redact_text(text) == text


def test_nested_mappings_are_masked_by_key():
    data = {"hook": {"url": "https://p", "headers": {"Authorization": "x"}}, "items": [{"token": "y", "id": 1}]}
    assert redact_mapping(data) == {
        "hook": {"url": "https://p", "headers": {"Authorization": MASK}},
        "items": [{"token": MASK, "id": 1}],
    }


def test_the_logging_filter_masks_formatted_messages():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "calling with appToken=%s", ("s3cr3t-value",), None)
    RedactSecretsFilter().filter(record)
    assert "s3cr3t-value" not in record.getMessage()


def test_the_configured_handlers_carry_the_filter():
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters)


def test_text_without_any_secret_name_is_returned_unchanged():
    body = '{"orderId": "1510580500001-01", "items": [{"id": "100", "quantity": 2}]}'
    assert redact_text(body) is body


@pytest.mark.parametrize(
    "text",
    [
        "paſsword=hunter2",
        "authorızation: Bearer abc.def",
        "authorızation=abc.def",
        "AUTHORİZATİON=abc.def",
        '{"customer": "Jiří Nováček", "KEY": 1, "toKen": "hunter2"}',
        '{"customer": "Straße", "toKen": "hunter2"}',
    ],
)
def test_letters_that_only_match_case_insensitively_are_still_masked(text):
    assert "hunter2" not in redact_text(text) and "abc.def" not in redact_text(text)


def test_text_with_accents_but_no_secret_name_skips_the_patterns(monkeypatch):
    class Unused:
        def sub(self, *args):
            raise AssertionError("a text without any secret name ran the patterns")

    monkeypatch.setattr("portal.redaction._PATTERNS", [Unused()])
    monkeypatch.setattr("portal.redaction._BEARER", Unused())
    monkeypatch.setattr("portal.redaction._JWT", Unused())
    body = '{"customer": "Jiří Nováček", "street": "Hauptstraße 1", "city": "Plzeň"}'

    assert redact_text(body) is body


def test_the_logging_filter_masks_the_traceback_attached_to_a_record():
    try:
        raise ValueError("POST https://auth/token refresh_token=s3cr3t-value Authorization: Bearer b3arer-value")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "call failed", (), sys.exc_info())
    RedactSecretsFilter().filter(record)
    printed = logging.Formatter().format(record)
    assert "ValueError" in printed and "call failed" in printed
    assert "s3cr3t-value" not in printed and "b3arer-value" not in printed


@pytest.mark.parametrize(
    "text",
    [
        '{"headers": {"X-Portal-Hook-Secret": "s3cr3t-value"}}',  # the VTEX hook's own header
        "X-Portal-Hook-Secret: s3cr3t-value",
        "clientSecret=s3cr3t-value&grant_type=x",
        "{'hook_token': 's3cr3t-value'}",
    ],
)
def test_any_name_ending_in_a_secret_word_is_masked(text):
    assert "s3cr3t-value" not in redact_text(text)


def test_a_secret_word_in_a_value_or_in_the_middle_of_a_name_masks_nothing():
    text = '{"description": "our secret sauce", "tokenizer": "whitespace"}'
    assert redact_text(text) == text


def test_mappings_mask_keys_ending_in_a_secret_word():
    assert redact_mapping({"X-Portal-Hook-Secret": "v", "hookToken": "t", "tokenizer": "x"}) == {
        "X-Portal-Hook-Secret": MASK,
        "hookToken": MASK,
        "tokenizer": "x",
    }


SECRET_SEGMENT = "cvMmrJNDB0UTae_-C4fgurFqbiniTNY0PDGgsp4aTns"


def test_only_the_secret_segment_of_a_connector_endpoint_is_masked():
    endpoint = f"https://portal.example.com/prefix/webhooks/vtex/mkp/{SECRET_SEGMENT}"
    excerpt = excerpt_of_json({"connectorName": "vario-portal", "connectorEndpoint": endpoint})

    assert SECRET_SEGMENT not in excerpt
    # operators still see where VTEX was told to post
    assert f'"connectorEndpoint": "https://portal.example.com/prefix/webhooks/vtex/mkp/{MASK}"' in excerpt


@pytest.mark.parametrize(
    "path",
    [
        f"/webhooks/vtex/mkp/{SECRET_SEGMENT}/order-integration/notification/processing-result",
        f"/webhooks/vtex/mkp/{SECRET_SEGMENT}?an=demostore",
        f"/webhooks/vtex/mkp/{SECRET_SEGMENT}/a-mistyped-suffix",
    ],
)
def test_a_connector_secret_segment_is_masked_whatever_follows_it(path):
    assert SECRET_SEGMENT not in redact_text(f"Not Found: {path}")


def test_the_hooks_path_is_no_secret():
    assert redact_text("POST /webhooks/vtex/mkp/orders 401") == "POST /webhooks/vtex/mkp/orders 401"
