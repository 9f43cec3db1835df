"""The emails sent through moto's SES, for `GET /_local/emails`.

moto keeps one body per message (the HTML part when there is one) and no timestamp, so a small
WSGI middleware in front of the moto server also records each successful SES v1/v2 send
(text, html, time) by message id. The listing starts from moto's backend (what SES accepted)
and adds what the middleware saw.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from local.stack.template import ACCOUNT_ID, REGION

_MESSAGE_ID = re.compile(rb"<MessageId>([^<]+)</MessageId>|\"MessageId\"\s*:\s*\"([^\"]+)\"")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SesRecorder:
    """WSGI middleware recording SES sends by message id (thread-safe)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.sent: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Pass the request to moto; remember SendEmail requests that succeed."""
        captured = self._capture(environ)
        if captured is None:
            return self.app(environ, start_response)
        status: list[str] = []

        def recording_start(code: str, headers: Any, *args: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *args)

        body = b"".join(self.app(environ, recording_start))
        match = _MESSAGE_ID.search(body)
        if status and status[0].startswith("200") and match:
            message_id = (match.group(1) or match.group(2)).decode()
            with self._lock:
                self.sent[message_id] = captured | {"at": datetime.now(UTC).isoformat()}
        return [body]

    @staticmethod
    def _capture(environ: dict[str, Any]) -> dict[str, Any] | None:
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        path = environ.get("PATH_INFO", "")
        is_v2 = path.endswith("/v2/email/outbound-emails")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form_post = str(environ.get("CONTENT_TYPE", "")).startswith(
            "application/x-www-form-urlencoded"
        )
        if not (is_v2 or form_post) or not (0 < length < 10_000_000):
            return None
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        if is_v2:
            try:
                simple = json.loads(raw)["Content"]["Simple"]
            except (ValueError, KeyError, TypeError):
                return None
            body = simple.get("Body") or {}
            return {
                "subject": (simple.get("Subject") or {}).get("Data", ""),
                "text": (body.get("Text") or {}).get("Data"),
                "html": (body.get("Html") or {}).get("Data"),
            }
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        if form.get("Action") != "SendEmail":
            return None
        return {
            "subject": form.get("Message.Subject.Data", ""),
            "text": form.get("Message.Body.Text.Data"),
            "html": form.get("Message.Body.Html.Data"),
        }


def _raw_parts(raw: str) -> dict[str, Any]:
    message = email.message_from_string(raw, policy=email.policy.default)
    parts: dict[str, Any] = {"subject": str(message.get("Subject", "")), "text": None, "html": None}
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is not None:
            parts["text" if kind == "plain" else "html"] = part.get_content()  # type: ignore[attr-defined]
    return parts


def sent_emails(recorder: SesRecorder | None = None) -> list[dict[str, Any]]:
    """Every email moto's SES accepted: `[{source, to, subject, text, html, at}]`, oldest first."""
    from moto.ses.models import ses_backends

    backend = ses_backends[ACCOUNT_ID][REGION]
    seen = dict(recorder.sent) if recorder else {}
    emails: list[dict[str, Any]] = []
    for message in list(backend.sent_messages):
        message_id = getattr(message, "id", None)
        extra = seen.get(message_id or "", {})
        if hasattr(message, "raw_data"):
            details = _raw_parts(message.raw_data)
            recipients = list(message.destinations or [])
        else:
            destinations = getattr(message, "destinations", {}) or {}
            recipients = list(destinations.get("ToAddresses", []))
            body = getattr(message, "body", None)
            looks_html = isinstance(body, str) and body.lstrip().startswith("<")
            details = {
                "subject": getattr(message, "subject", ""),
                "text": None if looks_html else body,
                "html": body if looks_html else None,
            }
        details.update({k: v for k, v in extra.items() if v is not None})
        emails.append(
            {
                "id": message_id,
                "source": getattr(message, "source", None),
                "to": recipients,
                "subject": details.get("subject"),
                "text": details.get("text"),
                "html": details.get("html"),
                "at": extra.get("at"),
            }
        )
    return emails
