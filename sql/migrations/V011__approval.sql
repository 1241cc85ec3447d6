-- V011: review and approval of a unit's period (CONTRACT.md section 9), units' explanations of warnings, and
-- notes on submissions that are not failed checks (e.g. values too new to be scored against the unit's history).

-- 1. Every approval and reopening of a unit's feed for a period, in order: the latest row says whether it is
--    locked. Rows are only ever added.
create table audit.approval (
    approval_id  bigserial primary key,
    unit_code    text not null references core.unit,
    feed         text not null,
    period       text not null,
    status       text not null check (status in ('approved', 'reopened')),
    acted_at     timestamptz not null default clock_timestamp(),
    acted_by     text not null,
    reason       text,
    automatic    boolean not null default false
);
create index approval_latest on audit.approval (unit_code, feed, period, approval_id desc);
comment on table audit.approval is
  'One row per approval (lock) or reopening of a unit''s feed for a period; the latest row per unit, feed and period is in force.';

-- 2. A file refused because its period was locked does not keep its content: once the period is reopened the
--    refusal is released (lock_released_at), and the same bytes are new content again (not a duplicate).
alter table audit.submission add column lock_released_at timestamptz;
comment on column audit.submission.lock_released_at is
  'when the reopening of a locked period released this period_locked refusal (its bytes may then be sent again)';
drop index audit.submission_content_once;
create unique index submission_content_once on audit.submission (unit_code, feed, sha256)
  where status <> 'duplicate' and lock_released_at is null;

-- 3. A unit's explanation of a warning of one of its submissions (by check, not check row: a rerun rewrites the
--    check rows of a submission).
create table audit.warning_explanation (
    explanation_id  bigserial primary key,
    submission_id   bigint not null references audit.submission,
    expectation     text not null,
    column_name     text,
    explanation     text not null check (length(explanation) between 1 and 2000),
    explained_by    text not null,
    explained_at    timestamptz not null default clock_timestamp()
);
create index warning_explanation_submission on audit.warning_explanation (submission_id);
comment on table audit.warning_explanation is
  'One row per explanation a unit gave of a failed check of its submission; the newest one per check is shown.';

-- 4. Notes on a submission that are not failed checks (e.g. rows too new to be scored against the unit's history):
--    the reviewer sees them, the unit is not alerted.
create table audit.submission_note (
    note_id        bigserial primary key,
    submission_id  bigint not null references audit.submission,
    note           text not null,
    column_name    text,
    row_count      int not null,
    row_numbers    int[],
    sample         jsonb,
    message        text,
    message_vi     text
);
create index submission_note_submission on audit.submission_note (submission_id);
comment on table audit.submission_note is
  'One row per note on a submission that is not a failed check (history_too_short: rows not scored as outliers).';

-- 5. The approval in force per unit, feed and period (mart.metric_approval and mart.review_queue read it).
create view core.approval_state as
select distinct on (unit_code, feed, period)
       unit_code, feed, period, status, acted_at, acted_by, reason, automatic
from audit.approval
order by unit_code, feed, period, approval_id desc;
comment on view core.approval_state is 'The latest approval or reopening of each unit, feed and period.';

