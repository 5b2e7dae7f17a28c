"""The connector secret in the Channel Order notification path never reaches a log or a recorded excerpt."""

from __future__ import annotations

import datetime
import io
import json
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.util import load_class

from portal.access_log import RedactingLogger
from portal.redaction import MASK, redact_text

SECRET = "cvMmrJNDB0UTae_-C4fgurFqbiniTNY0PDGgsp4aTns"
PATH = f"/webhooks/vtex/mkp/{SECRET}/order-integration/notification/processing-result"


def test_the_secret_segment_of_a_notification_path_is_masked():
    redacted = redact_text(f"Bad Request: {PATH}")

    assert SECRET not in redacted
    assert redacted == f"Bad Request: /webhooks/vtex/mkp/{MASK}/order-integration/notification/processing-result"


def test_the_hook_path_and_other_paths_are_left_alone():
    text = "POST /webhooks/vtex/shop/orders 200; POST /webhooks/vario/shipment.parcel.completed 200"

    assert redact_text(text) == text


def test_the_connector_endpoint_sent_to_vtex_is_masked_in_a_recorded_request_body():
    body = json.dumps(
        {"connectorName": "vario-portal", "connectorEndpoint": f"https://p.example/webhooks/vtex/mkp/{SECRET}"}
    )

    assert SECRET not in redact_text(body)
    assert "vario-portal" in redact_text(body)


def test_gunicorn_logs_the_path_with_the_secret_masked():
    stream = io.StringIO()
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", '"%(m)s %(U)s" %(s)s')
    access_logger = RedactingLogger(config)
    access_logger.access_log.handlers = [logging.StreamHandler(stream)]
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"{PATH}?an=demostore",
        "PATH_INFO": PATH,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    response = SimpleNamespace(status="200 OK", sent=2, headers=[])

    access_logger.access(response, SimpleNamespace(headers=[]), environ, datetime.timedelta(milliseconds=3))

    assert (
        stream.getvalue().strip()
        == f'"POST /webhooks/vtex/mkp/{MASK}/order-integration/notification/processing-result" 200'
    )


def test_the_deployed_gunicorn_configuration_uses_the_redacting_logger():
    settings = runpy.run_path(str(Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"))

    assert load_class(settings["logger_class"]) is RedactingLogger


def error_log_of(config: Config) -> tuple[RedactingLogger, io.StringIO]:
    stream = io.StringIO()
    gunicorn_logger = RedactingLogger(config)
    for handler in gunicorn_logger.error_log.handlers:
        handler.setStream(stream)
    return gunicorn_logger, stream


def test_gunicorns_error_log_masks_the_secret_of_a_request_that_crashed():
    config = Config()
    config.set("errorlog", "-")
    gunicorn_logger, stream = error_log_of(config)

    try:
        raise RuntimeError(f"worker died handling {PATH}")
    except RuntimeError:
        # what gunicorn.workers.base.Worker.handle_error logs
        gunicorn_logger.exception("Error handling request %s %s", "POST", f"{PATH}?an=demostore")

    logged = stream.getvalue()
    assert "Error handling request POST /webhooks/vtex/mkp/" in logged
    assert "RuntimeError: worker died handling /webhooks/vtex/mkp/" in logged  # the traceback too
    assert SECRET not in logged
    assert f"/webhooks/vtex/mkp/{MASK}/order-integration" in logged


def test_the_error_log_keeps_one_filter_across_configuration_reloads():
    config = Config()
    gunicorn_logger, _ = error_log_of(config)

    gunicorn_logger.setup(config)  # gunicorn reruns it on SIGHUP

    assert len(gunicorn_logger.error_log.filters) == 1
