-- V012: the units' portal (CONTRACT.md section 8): accounts, sign-in sessions, API tokens and the audit of every
-- sign-in, upload and refusal. Passwords and API tokens are stored only as salted argon2 hashes; session ids
-- (random, 256 bits) only as their SHA-256, so signing out (deleting the row) invalidates the cookie.
create schema if not exists portal;
comment on schema portal is 'Accounts, sessions, API tokens and the audit of the units'' portal (chitieu serve).';

create table portal.account (
    account_id     bigserial primary key,
    email          text not null,
    role           text not null check (role in ('unit', 'province', 'admin')),
    unit_code      text references core.unit,
    password_hash  text not null,
    is_active      boolean not null default true,
    created_at     timestamptz not null default now(),
    check ((role = 'unit') = (unit_code is not null))
);
create unique index account_email on portal.account (lower(email));
comment on table portal.account is 'One row per portal account; role unit is bound to one unit_code.';
comment on column portal.account.password_hash is 'argon2id hash (salted) of the password; the password itself is never stored';

create table portal.session (
    session_sha256 text primary key,
    account_id     bigint not null references portal.account on delete cascade,
    created_at     timestamptz not null default now(),
    expires_at     timestamptz not null
);
create index session_account on portal.session (account_id);
comment on table portal.session is 'One row per signed-in browser session, keyed by the SHA-256 of its random cookie value.';

create table portal.api_token (
    token_id       bigserial primary key,
    account_id     bigint not null references portal.account on delete cascade,
    token_hash     text not null,
    created_at     timestamptz not null default now(),
    revoked_at     timestamptz
);
create index api_token_account on portal.api_token (account_id);
comment on table portal.api_token is 'One row per API token; the token (ct_<token_id>_<secret>) is stored only as the argon2id hash of its secret.';

create table portal.audit_event (
    event_id       bigserial primary key,
    at             timestamptz not null default now(),
    event          text not null,
    account_id     bigint references portal.account on delete set null,
    email          text,
    unit_code      text,
    feed           text,
    submission_id  bigint,
    http_status    int,
    client         text,
    detail         text
);
create index audit_event_sign_in on portal.audit_event (lower(email), at) where event in ('sign_in', 'sign_in_failed', 'sign_in_refused');
comment on table portal.audit_event is 'One row per sign-in (succeeded, failed, refused), upload, dry run and refused request of the portal.';
