import logging

from portal.redaction import redact_text

_formatter = logging.Formatter()


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in every record that reaches a handler, whatever logger produced it: the message,
    and the traceback and stack attached to it (an exception's text may quote a URL or a header)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set, and set it from exc_info only when it is not.
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
