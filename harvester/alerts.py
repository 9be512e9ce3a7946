"""Mail the curators when a source keeps failing, and once more when it recovers.

After ``alerts.after_failures`` failed runs in a row, one "failing" mail goes out. No
further mail is sent while the failures go on. The first run that does not fail
sends one "recovered" mail. Each mail sent is a row in the ``alerts`` table, and the
newest row of a source is the state that decides the next mail.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.app import App
from harvester.config import SmtpSettings, secret
from harvester.errors import ConfigError
from harvester.logs import redact
from store import runs
from store.models import Alert, Curator, utcnow

log = logging.getLogger(__name__)

AlertKind = Literal["failing", "recovered"]
FAILING: AlertKind = "failing"
RECOVERED: AlertKind = "recovered"


def decide_alert(
    failures: int, threshold: int, last_kind: str | None
) -> AlertKind | None:
    """Return the alert to send now, given failures in a row and the last alert sent."""
    if failures >= threshold and last_kind != FAILING:
        return FAILING
    if failures == 0 and last_kind == FAILING:
        return RECOVERED
    return None


def check_alerts(app: App, source_name: str) -> AlertKind | None:
    """Send the failing or recovered mail for ``source_name`` if one is due; return its kind.

    A mail that cannot be sent is logged and tried again after the next run. Without
    SMTP settings or recipients the alert is recorded and logged, but not mailed.
    """
    settings = app.config.alerts
    with app.db.read() as session:
        failures = runs.consecutive_failures(session, source_name)
        last = runs.last_alert(session, source_name)
        last_run = runs.last_finished(session, source_name)
        recipients = list(settings.recipients) or _curator_addresses(session)
    kind = decide_alert(failures, settings.after_failures, last.kind if last else None)
    if kind is None:
        return None

    error = (
        last_run.error
        if last_run is not None and last_run.error
        else "no error message recorded"
    )
    message = _compose(app, source_name, kind, failures, error, recipients)
    detail = (
        f"{failures} failed runs in a row: {error}"
        if kind == FAILING
        else "the last run succeeded"
    )
    if settings.smtp is None or not recipients:
        missing = (
            "alerts.smtp"
            if settings.smtp is None
            else "alerts.recipients (and no active curators)"
        )
        log.warning(
            "source %s is %s, but no alert mail was sent: set %s in the config",
            source_name,
            kind,
            missing,
        )
        detail = f"not mailed, {missing} not configured; {detail}"
    else:
        try:
            send_mail(settings.smtp, message)
        except (OSError, smtplib.SMTPException, ConfigError) as failure:
            log.error(
                "source %s: sending the %s alert to %s failed: %s; retrying after the next run",
                source_name,
                kind,
                ", ".join(recipients),
                failure,
            )
            return None
        log.info(
            "source %s: %s alert mailed to %s", source_name, kind, ", ".join(recipients)
        )

    with app.db.write() as session:
        session.add(
            Alert(
                source=source_name, kind=kind, sent_at=utcnow(), detail=redact(detail)
            )
        )
    return kind


def _curator_addresses(session: Session) -> list[str]:
    query = (
        select(Curator.email).where(Curator.active.is_(True)).order_by(Curator.email)
    )
    return list(session.scalars(query))


def _compose(
    app: App,
    source: str,
    kind: AlertKind,
    failures: int,
    error: str,
    recipients: list[str],
) -> EmailMessage:
    smtp = app.config.alerts.smtp
    message = EmailMessage()
    message["From"] = smtp.sender if smtp else "harvester@localhost"
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="harvester.local")
    if kind == FAILING:
        message["Subject"] = f"harvester: source {source} is failing"
        body = (
            f"The source {source} failed {failures} times in a row.\n\n"
            f"Last error: {error}\n\n"
            "Stories from this source are not being collected until it is fixed.\n"
            "Run `harvester status` to see every source, and `harvester runs --source "
            f"{source}` for its run history.\n"
            "You will get one more mail when the source works again.\n"
        )
    else:
        message["Subject"] = f"harvester: source {source} works again"
        body = f"The source {source} completed a run without error, so harvesting has resumed.\n"
    message.set_content(redact(body))
    return message


def send_mail(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send ``message`` through the configured SMTP server, within ``settings.timeout`` seconds per step."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.security == "tls":
        client = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.username:
            if not settings.password_env:
                log.warning(
                    "alerts.smtp.username is set without password_env, so the SMTP login is skipped"
                )
            else:
                client.login(
                    settings.username,
                    secret(settings.password_env, "SMTP password for alert mail"),
                )
        client.send_message(message)
