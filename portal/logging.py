import logging

from portal.redaction import redact_text


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in every record that reaches a handler, whatever logger produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
