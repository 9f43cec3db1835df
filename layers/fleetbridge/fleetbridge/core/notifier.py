"""The one way to email people: templated plain-text + HTML through SES, recorded in activity."""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template
from typing import Any

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.aws import client
from fleetbridge.core.config import get_settings
from fleetbridge.core.models import Connection

_HTML_FRAME = Template(
    '<!doctype html><html><body style="font-family:sans-serif">$body'
    '<p style="color:#888;font-size:12px">Sent by fleetbridge for connection $connection_name.'
    "</p></body></html>"
)


@dataclass(frozen=True)
class EmailTemplate:
    """Subject, text and HTML bodies with `$placeholders` (string.Template syntax)."""

    subject: str
    text: str
    html: str


_TEMPLATES: dict[str, EmailTemplate] = {}


def register_template(name: str, template: EmailTemplate) -> None:
    """Flows register their email templates at import time."""
    _TEMPLATES[name] = template


register_template(
    "failure",
    EmailTemplate(
        subject="[fleetbridge] $flow: $entity failed",
        text="$entity could not be synced.\n\nReason: $reason\n\n$details\n",
        html="<p><b>$entity</b> could not be synced.</p><p>Reason: $reason</p><p>$details</p>",
    ),
)


@dataclass(frozen=True)
class Email:
    """A rendered email."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str


def render(template_name: str, context: dict[str, Any]) -> Email:
    """Fill a template; values are HTML-escaped in the HTML body only."""
    template = _TEMPLATES[template_name]
    values = {key: str(value) for key, value in context.items()}
    escaped = {key: html.escape(value) for key, value in values.items()}
    body = Template(template.html).safe_substitute(escaped)
    return Email(
        to=(),
        subject=Template(template.subject).safe_substitute(values),
        text=Template(template.text).safe_substitute(values),
        html=_HTML_FRAME.safe_substitute(
            body=body, connection_name=escaped.get("connection_name", "")
        ),
    )


class Notifier:
    """Sends emails for a connection and records each one as a `notified` activity."""

    def __init__(self, activity: ActivityLog | None = None) -> None:
        self._activity = activity or ActivityLog()

    def send(
        self,
        connection: Connection,
        recipients: list[str],
        template_name: str,
        context: dict[str, Any],
        *,
        entity: str,
        source_event: str,
    ) -> str | None:
        """Email `recipients`; returns the SES message id (None when there is nobody to tell).

        Nobody to tell is not silence: it is recorded as a `skipped` activity (`no_recipients`)
        and the connection shows a warning (core.health.warnings_for).
        """
        if not recipients:
            self._activity.record(
                connection,
                action="skipped",
                entity=entity,
                source_event=source_event,
                reason=f"no_recipients: {template_name} email not sent",
            )
            return None
        email = render(
            template_name, {"connection_name": connection.name, "flow": connection.flow, **context}
        )
        sent = client("ses").send_email(
            Source=get_settings().ses_sender,
            Destination={"ToAddresses": list(recipients)},
            Message={
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": email.text, "Charset": "UTF-8"},
                    "Html": {"Data": email.html, "Charset": "UTF-8"},
                },
            },
        )
        self._activity.record(
            connection,
            action="notified",
            entity=entity,
            source_event=source_event,
            reason=f"{template_name} email to {', '.join(recipients)}",
            vendor_ids={"ses_message_id": sent["MessageId"]},
        )
        return str(sent["MessageId"])
