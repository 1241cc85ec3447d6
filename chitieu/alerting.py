"""Deliver messages to units once: claim a row in audit.alert, send over SMTP and Apprise, record the outcome.

Channels are a small factory switched on by configuration: SMTP when CHITIEU_SMTP_URL is set (otherwise the
alert is recorded as `not_configured`), one Apprise channel per URL in CHITIEU_ALERT_URLS.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa

from chitieu.config import Settings
from chitieu.messages_vi import Message
from chitieu.warehouse import read_sql

__all__ = ["RETRY_DAYS", "Channel", "Outgoing", "deliver", "make_channels"]

ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 1.5)   # waits between attempts
SEND_TIMEOUT = 3.0             # per connection attempt
DEADLINE_SECONDS = 6.0         # no new attempt starts after this long
RETRY_DAYS = 7                 # a failed message is tried again by later runs for this long
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One message to a unit, identified by a dedupe key that no other message may reuse."""

    dedupe_key: str
    kind: str                  # rejected | warning | resolved | reminder
    unit_code: str
    feed: str | None
    period: str | None
    submission_id: int | None
    email: str | None
    message: Message


class SendError(Exception):
    """A channel could not deliver a message."""

    def __init__(self, reason: str, *, transient: bool):
        super().__init__(reason)
        self.transient = transient


class Channel:
    """A way to reach units; subclasses say whom a message goes to and how it is sent."""

    name = "channel"
    configured = True

    def __init__(self) -> None:
        self.down: str | None = None   # set once the channel failed for good in this batch

    def recipient(self, outgoing: Outgoing) -> str | None:
        raise NotImplementedError

    def send(self, recipient: str, message: Message, outgoing: Outgoing) -> None:
        raise NotImplementedError


# --- SMTP ------------------------------------------------------------------------------------


class SmtpChannel(Channel):
    """Mail to the unit's contact_email through `smtp://[user:pass@]host:port[?starttls=true]` or `smtps://`."""

    name = "smtp"

    def __init__(self, url: str, sender: str):
        super().__init__()
        parts = urlsplit(url)
        self.ssl = parts.scheme == "smtps"
        try:
            self.host, self.port = parts.hostname or "", parts.port or (465 if self.ssl else 25)
        except ValueError:
            self.host, self.port = "", 0
        if parts.scheme not in ("smtp", "smtps") or not self.host or not self.port:
            self.down = "CHITIEU_SMTP_URL is not smtp://host:port or smtps://host:port"  # recorded, never raised
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self.sender = sender

    def recipient(self, outgoing: Outgoing) -> str | None:
        return outgoing.email

    def _mail(self, recipient: str, message: Message, outgoing: Outgoing) -> MIMEText:
        # compat32 MIMEText + Header: the modern policy's folder drops spaces between encoded words (CPython bug)
        mail = MIMEText(message.body, "plain", "utf-8")
        mail["Subject"] = Header(message.subject, "utf-8")
        mail["From"], mail["To"] = self.sender, recipient
        mail["Date"], mail["Message-ID"] = formatdate(localtime=True), make_msgid(domain="chitieu")
        mail["X-Chitieu-Alert"] = outgoing.dedupe_key
        return mail

    def send(self, recipient: str, message: Message, outgoing: Outgoing) -> None:
        client = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        try:
            with client(self.host, self.port, timeout=SEND_TIMEOUT) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(self._mail(recipient, message, outgoing))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendError(f"recipient refused: {exc.recipients}", transient=all(400 <= c < 500 for c in codes)) \
                from None
        except smtplib.SMTPResponseException as exc:
            reason = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise SendError(f"SMTP {exc.smtp_code}: {reason}", transient=400 <= exc.smtp_code < 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}", transient=True) from None


class UnconfiguredSmtp(Channel):
    """No CHITIEU_SMTP_URL: the mail is recorded as not_configured, never sent."""

    name = "smtp"
    configured = False

    def recipient(self, outgoing: Outgoing) -> str | None:
        return outgoing.email


# --- Apprise ------------------------------------------------------------------------------------


class AppriseChannel(Channel):
    """One Apprise URL that receives every message; recorded under its privacy-masked form."""

    name = "apprise"

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        import apprise  # imported lazily: only when an Apprise URL is configured

        plugin = apprise.Apprise.instantiate(url)
        masked = plugin.url(privacy=True) if plugin else url.split("://", 1)[0] + "://(invalid)"
        self.label = f"{masked} #{hashlib.sha256(url.encode()).hexdigest()[:8]}"
        self.valid = plugin is not None

    def recipient(self, outgoing: Outgoing) -> str | None:
        return self.label

    def send(self, recipient: str, message: Message, outgoing: Outgoing) -> None:
        import apprise

        if not self.valid:
            raise SendError("not a valid Apprise URL", transient=False)
        notifier = apprise.Apprise()
        notifier.add(self.url)
        with apprise.LogCapture(level=logging.WARNING) as logs:
            ok = notifier.notify(title=message.subject, body=message.body)
        if not ok:
            reason = " | ".join(line.split(" - ", 2)[-1] for line in logs.getvalue().strip().splitlines()[-3:])
            raise SendError(f"Apprise: {reason or 'notification failed'}", transient=True)


def make_channels(settings: Settings) -> list[Channel]:
    """SMTP (or its not-configured stand-in) first, then one channel per Apprise URL."""
    smtp: Channel = SmtpChannel(settings.smtp_url, settings.alert_from) if settings.smtp_url else UnconfiguredSmtp()
    return [smtp, *(AppriseChannel(url) for url in settings.alert_urls)]


# --- claim, send, record -----------------------------------------------------------------------


def _with_backoff(send: Callable[[], None], sleep: Callable[[float], None] = time.sleep) -> tuple[int, str | None]:
    """(attempts made, last error or None): transient failures retried a few times within a short deadline."""
    started, attempts, error = time.monotonic(), 0, None
    while attempts < ATTEMPTS:
        attempts += 1
        try:
            send()
            return attempts, None
        except SendError as exc:
            error = str(exc)[:2000]
            if not exc.transient or attempts == ATTEMPTS:
                break
            wait = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
            if time.monotonic() - started + wait > DEADLINE_SECONDS:
                break
            sleep(wait)
    return attempts, error


def _claim(engine: sa.Engine, outgoing: Outgoing, channel: Channel, recipient: str,
           reclaimable: Sequence[int] = ()) -> int | None:
    """Insert the alert row; None when this message was already claimed for this channel and recipient (unless
    a pending claim about one of the `reclaimable` submissions was abandoned by an interrupted run, or it failed
    within RETRY_DAYS)."""
    with engine.begin() as conn:
        return conn.execute(sa.text(read_sql("alerts/claim_alert.sql")), {
            "dedupe_key": outgoing.dedupe_key, "kind": outgoing.kind, "unit_code": outgoing.unit_code,
            "feed": outgoing.feed, "period": outgoing.period, "submission_id": outgoing.submission_id,
            "channel": channel.name, "recipient": recipient, "subject": outgoing.message.subject,
            "body": outgoing.message.body,
            "status": "pending" if channel.configured else "not_configured",
            "error": None if channel.configured else "CHITIEU_SMTP_URL is not set",
            "reclaimable": list(reclaimable), "retry_days": RETRY_DAYS,
        }).scalar()


def _record(engine: sa.Engine, alert_id: int, status: str, attempts: int, error: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(read_sql("alerts/record_alert.sql")),
                     {"alert_id": alert_id, "status": status, "attempts": attempts, "error": error})


def deliver(engine: sa.Engine, outgoing: Outgoing, channels: list[Channel], reclaimable: Sequence[int] = ()) -> Counter:
    """Claim, send and record the message on every channel; return counts by status (`already` if claimed before).

    `reclaimable`: submissions of interrupted runs, whose claimed-but-unrecorded messages are sent again."""
    counts: Counter = Counter()
    for channel in channels:
        recipient = channel.recipient(outgoing)
        alert_id = _claim(engine, outgoing, channel, recipient or "(no contact_email)", reclaimable)
        if alert_id is None:
            counts["already"] += 1
            continue
        if not channel.configured:
            counts["not_configured"] += 1
            continue
        if not recipient:
            attempts, error = 0, "the unit has no contact_email in the catalog"
        elif channel.down:
            attempts, error = 0, f"not attempted: {channel.down}"
        else:
            attempts, error = _with_backoff(lambda ch=channel, r=recipient: ch.send(r, outgoing.message, outgoing))
            if error and attempts > 1:
                channel.down = f"{channel.name} failed earlier in this batch ({error})"
        status = "sent" if error is None else "failed"
        if error:
            _log.warning("alert %s via %s to %s failed: %s", outgoing.dedupe_key, channel.name, recipient, error)
        _record(engine, alert_id, status, attempts, error)
        counts[status] += 1
    return counts
