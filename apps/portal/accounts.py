"""Portal accounts: argon2 password and token hashes, sign-in sessions, the audit of sign-ins and refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chitieu.errors import ConfigError

__all__ = ["ROLES", "Account", "SignInThrottle", "add_account", "audit", "csrf_for", "csrf_ok", "end_session",
           "new_token", "session_account", "start_session", "token_account", "verify_password"]

ROLES = ("unit", "province", "admin")
SESSION_HOURS = 12
TOKEN_PREFIX = "ct_"
_hasher = PasswordHasher()  # argon2id, a fresh random salt per hash
# a hash to verify against when the e-mail is unknown, so that a wrong e-mail costs as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Account:
    """Who is calling: an account and the unit it is bound to (role `unit`), or a province/admin account."""

    account_id: int
    email: str
    role: str
    unit_code: str | None

    def may_see(self, unit_code: str) -> bool:
        return self.role in ("province", "admin") or unit_code == self.unit_code


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- accounts and tokens (chitieu users add / token) ------------------------------------------------


def add_account(engine: sa.Engine, email: str, role: str, unit_code: str | None) -> str:
    """Create an account; returns its password (random, shown once; only its argon2 hash is kept)."""
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise ConfigError(f"--email {email!r} is not an e-mail address")
    if role not in ROLES:
        raise ConfigError(f"--role {role!r}: expected one of {', '.join(ROLES)}")
    if (role == "unit") != bool(unit_code):
        raise ConfigError("--unit is required for role unit, and only for it")
    password = secrets.token_urlsafe(12)
    with engine.begin() as conn:
        if unit_code and not conn.scalar(sa.text(
                "select 1 from core.unit where unit_code = :u and level <> 'province'"), {"u": unit_code}):
            raise ConfigError(f"--unit {unit_code!r} is not a submitting unit of the catalog")
        if conn.scalar(sa.text("select 1 from portal.account where lower(email) = lower(:e)"), {"e": email}):
            raise ConfigError(f"an account for {email} exists already")
        conn.execute(sa.text(
            "insert into portal.account (email, role, unit_code, password_hash) values (:e, :r, :u, :h)"),
            {"e": email, "r": role, "u": unit_code, "h": _hasher.hash(password)})
    return password


def new_token(engine: sa.Engine, email: str) -> str:
    """A new API token for the account (ct_<id>_<secret>); only the argon2 hash of the secret is kept."""
    secret = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        account_id = conn.scalar(sa.text(
            "select account_id from portal.account where lower(email) = lower(:e) and is_active"), {"e": email})
        if account_id is None:
            raise ConfigError(f"no active account for {email}")
        token_id = conn.scalar(sa.text(
            "insert into portal.api_token (account_id, token_hash) values (:a, :h) returning token_id"),
            {"a": account_id, "h": _hasher.hash(secret)})
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


_ACCOUNT_COLUMNS = "a.account_id, a.email, a.role, a.unit_code"
_TOKEN_CACHE: dict[str, tuple[float, Account]] = {}  # sha256(token) -> (verified at, account): argon2 once a minute
_TOKEN_CACHE_SECONDS = 60.0


def token_account(engine: sa.Engine, token: str) -> Account | None:
    """The account of a valid, unrevoked API token, else None."""
    key = _sha256(token)
    cached = _TOKEN_CACHE.get(key)
    if cached and time.monotonic() - cached[0] < _TOKEN_CACHE_SECONDS:
        return cached[1]
    prefix, _, rest = token.partition(TOKEN_PREFIX)
    token_id, _, secret = rest.partition("_")
    if prefix or not token_id.isdigit() or not secret or len(token_id) > 18:
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            f"select {_ACCOUNT_COLUMNS}, t.token_hash from portal.api_token t join portal.account a using (account_id)"
            " where t.token_id = :t and t.revoked_at is null and a.is_active"), {"t": int(token_id)}).first()
    if row is None or not _verify(row.token_hash, secret):
        return None
    account = Account(row.account_id, row.email, row.role, row.unit_code)
    _TOKEN_CACHE[key] = (time.monotonic(), account)
    return account


def _verify(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(engine: sa.Engine, email: str, password: str) -> Account | None:
    """The active account with this e-mail and password, else None (same cost whether the e-mail exists or not)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            f"select {_ACCOUNT_COLUMNS}, a.password_hash from portal.account a"
            " where lower(a.email) = lower(:e) and a.is_active"), {"e": email.strip()}).first()
    if row is None:
        _verify(_DUMMY_HASH, password)
        return None
    return Account(row.account_id, row.email, row.role, row.unit_code) if _verify(row.password_hash, password) \
        else None


# --- sessions and CSRF ------------------------------------------------------------------------------


def start_session(engine: sa.Engine, account: Account) -> str:
    """A new session for the account; returns the cookie value (only its SHA-256 is stored)."""
    session_id = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into portal.session (session_sha256, account_id, expires_at) values (:s, :a, :x)"),
            {"s": _sha256(session_id), "a": account.account_id,
             "x": dt.datetime.now(dt.UTC) + dt.timedelta(hours=SESSION_HOURS)})
    return session_id


def session_account(engine: sa.Engine, session_id: str) -> Account | None:
    """The account of a live session cookie, else None."""
    if not session_id or len(session_id) > 100:
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            f"select {_ACCOUNT_COLUMNS} from portal.session s join portal.account a using (account_id)"
            " where s.session_sha256 = :s and s.expires_at > now() and a.is_active"),
            {"s": _sha256(session_id)}).first()
    return Account(row.account_id, row.email, row.role, row.unit_code) if row else None


def end_session(engine: sa.Engine, session_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("delete from portal.session where session_sha256 = :s"), {"s": _sha256(session_id)})


def csrf_for(secret: str) -> str:
    """The CSRF token of a session (or of a sign-in form's cookie): derived, never stored."""
    return hmac.new(secret.encode(), b"chitieu-csrf", hashlib.sha256).hexdigest()


def csrf_ok(secret: str | None, given: str | None) -> bool:
    return bool(secret and given) and hmac.compare_digest(csrf_for(secret), given)


# --- audit and sign-in throttling --------------------------------------------------------------------


def audit(engine: sa.Engine, event: str, *, account: Account | None = None, email: str | None = None,
          unit_code: str | None = None, feed: str | None = None, submission_id: int | None = None,
          http_status: int | None = None, client: str | None = None, detail: str | None = None) -> None:
    """Keep one event of the portal (never a password or token: callers pass none)."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into portal.audit_event (event, account_id, email, unit_code, feed, submission_id, http_status,"
            " client, detail) values (:ev, :a, :e, :u, :f, :s, :h, :c, :d)"),
            {"ev": event, "a": account.account_id if account else None,
             "e": (account.email if account else email or None), "u": unit_code or (account.unit_code if account
                                                                                       else None),
             "f": feed, "s": submission_id, "h": http_status, "c": client, "d": (detail or "")[:2000] or None})


@dataclass(frozen=True)
class SignInThrottle:
    """Failed sign-ins of an e-mail within `window_minutes` since its last success: from `slow_after` each attempt
    waits `delay_seconds` per failure (capped at `max_delay_seconds`); from `refuse_after` it is refused (429)."""

    slow_after: int = 3
    refuse_after: int = 8
    delay_seconds: float = 0.5
    max_delay_seconds: float = 4.0
    window_minutes: int = 15

    def failures(self, engine: sa.Engine, email: str) -> int:
        with engine.connect() as conn:
            return conn.scalar(sa.text(
                "select count(*) from portal.audit_event where lower(email) = lower(:e)"
                " and event in ('sign_in_failed', 'sign_in_refused') and at > now() - make_interval(mins => :w)"
                " and at > coalesce((select max(at) from portal.audit_event where lower(email) = lower(:e)"
                "                    and event = 'sign_in'), '-infinity')"),
                {"e": email.strip(), "w": self.window_minutes})

    def delay(self, failures: int) -> float:
        if failures < self.slow_after:
            return 0.0
        return min(self.max_delay_seconds, self.delay_seconds * (failures - self.slow_after + 1))
