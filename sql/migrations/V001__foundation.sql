-- V001: schemas, catalog dimensions, landing registry, submissions, facts, derived tables.
-- raw   : what landed (one row per file seen)
-- core  : catalog dimensions, versioned facts, derived figures
-- audit : submissions, check results, alerts, runs
-- mart  : views for BI (sql/views, rebuilt on change)

create schema if not exists raw;
create schema if not exists core;
create schema if not exists audit;

-- ===== catalog dimensions ===========================================================

create table core.unit (
    unit_code      text primary key check (unit_code ~ '^[A-Z0-9_]{2,32}$'),
    name_vi        text not null,
    name_en        text,
    level          text not null check (level in ('province', 'department', 'center', 'commune')),
    parent_code    text,
    contact_email  text,
    is_active      boolean not null default true,
    monthly_feeds  text[] not null default '{}',
    updated_at     timestamptz not null default now()
);
comment on table core.unit is 'One row per reporting unit of the catalog (catalog/units.csv).';

create table core.indicator (
    indicator_code  text primary key,
    name_vi         text not null,
    name_en         text,
    unit_of_measure text,
    periodicity     text not null check (periodicity in ('month', 'quarter', 'year')),
    aggregation     text not null check (aggregation in ('sum', 'last')),
    min_value       numeric,
    max_value       numeric,
    direction       text not null check (direction in ('up', 'down')),
    source_feed     text not null,
    updated_at      timestamptz not null default now()
);
comment on table core.indicator is 'One row per indicator: a derived metric or a value reported through the indicator feed.';

create table core.target (
    target_code     text primary key,
    indicator_code  text not null references core.indicator,
    unit_code       text not null references core.unit,
    year            int not null,
    comparator      text not null check (comparator in ('>', '>=', '=', '<=', '<')),
    target_value    numeric not null,
    unit_of_measure text,
    deadline        text,
    owner           text,
    description_vi  text,
    description_en  text,
    source_doc      text not null,
    source_clause   text not null,
    updated_at      timestamptz not null default now()
);
comment on table core.target is 'One row per 2026 target, with the seed document and clause it comes from.';

create table core.milestone (
    project_group   text not null,
    milestone_mmdd  text not null check (milestone_mmdd ~ '^[01][0-9]-[0-3][0-9]$'),
    required_pct    numeric not null,
    source_doc      text,
    source_clause   text,
    primary key (project_group, milestone_mmdd)
);
comment on table core.milestone is 'One row per project group and dated disbursement milestone.';

-- ===== landing registry and submissions =============================================

create table raw.landed_file (
    rel_path       text not null,
    sha256         text not null,
    unit_code      text,
    feed           text,
    size_bytes     bigint,
    modified_at    timestamptz,
    first_seen_at  timestamptz not null default now(),
    disposition    text not null,   -- submitted | duplicate | skipped
    reason         text,
    primary key (rel_path, sha256)
);
comment on table raw.landed_file is 'One row per file path and content seen in the inbox.';

create table audit.run (
    run_id        bigserial primary key,
    flow_run_id   text,
    command       text not null,
    as_of         date not null,
    inbox         text,
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    summary       jsonb
);

create table audit.submission (
    submission_id  bigserial primary key,
    unit_code      text not null references core.unit,
    feed           text not null,
    file_name      text not null,
    sha256         text not null,
    size_bytes     bigint,
    received_at    timestamptz not null,
    processed_at   timestamptz not null default now(),
    run_id         bigint references audit.run,
    status         text not null check (status in ('loaded', 'loaded_with_warnings', 'rejected', 'duplicate')),
    rows_total     int not null default 0,
    rows_failed    int not null default 0,
    version        int,
    duplicate_of   bigint references audit.submission,
    archive_path   text,
    periods        text[] not null default '{}',
    message        text
);
create unique index submission_content_once on audit.submission (unit_code, feed, sha256) where status <> 'duplicate';
create unique index submission_duplicate_once on audit.submission (unit_code, feed, sha256, file_name) where status = 'duplicate';
create index submission_unit_feed on audit.submission (unit_code, feed);
comment on table audit.submission is 'One row per distinct file content received from a unit for a feed.';

create table audit.submission_slice (
    submission_id  bigint not null references audit.submission on delete cascade,
    slice_key      text not null,
    period         text,
    primary key (submission_id, slice_key)
);
comment on table audit.submission_slice is 'One row per submission and slice (period, or task/indicator key) it carries.';

create table core.current_slice (
    unit_code      text not null,
    feed           text not null,
    slice_key      text not null,
    period         text,
    submission_id  bigint not null references audit.submission,
    primary key (unit_code, feed, slice_key)
);
create index current_slice_submission on core.current_slice (submission_id);
comment on table core.current_slice is 'Which accepted submission is current for each unit, feed and slice.';

create table audit.check_result (
    check_id           bigserial primary key,
    submission_id      bigint not null references audit.submission on delete cascade,
    expectation        text not null,
    severity           text not null check (severity in ('error', 'warning')),
    column_name        text,
    failed_rows        int not null,
    failed_row_numbers int[],
    sample             jsonb,
    message            text
);
create index check_result_submission on audit.check_result (submission_id);
comment on table audit.check_result is 'One row per failed check of a submission, with the failing rows.';

create table audit.alert (
    alert_id       bigserial primary key,
    dedupe_key     text not null,
    kind           text not null check (kind in ('rejected', 'warning', 'resolved', 'reminder')),
    unit_code      text not null,
    feed           text,
    period         text,
    submission_id  bigint references audit.submission,
    channel        text not null,        -- smtp | apprise
    recipient      text not null,
    subject        text not null,
    body           text not null,
    status         text not null check (status in ('pending', 'sent', 'failed', 'not_configured')),
    attempts       int not null default 0,
    error          text,
    created_at     timestamptz not null default now(),
    sent_at        timestamptz,
    unique (dedupe_key, channel, recipient)
);
comment on table audit.alert is 'One row per message to a unit (or Apprise target), sent or not.';

-- ===== facts (versioned by submission) ==============================================

create table core.fact_dossier (
    submission_id      bigint not null references audit.submission on delete cascade,
    slice_key          text not null,
    source_row         int not null,
    unit_code          text not null,
    period             text not null,
    received_total     bigint not null,
    received_online    bigint not null,
    resolved_total     bigint not null,
    resolved_on_time   bigint not null,
    surveyed           bigint,
    satisfied          bigint,
    e_results_issued   bigint,
    petitions_received bigint,
    petitions_on_time  bigint
);
create index fact_dossier_unit on core.fact_dossier (unit_code, submission_id);

create table core.fact_disbursement (
    submission_id     bigint not null references audit.submission on delete cascade,
    slice_key         text not null,
    source_row        int not null,
    project_code      text not null,
    project_name      text,
    unit_code         text not null,
    project_group     text not null,
    capital_plan_vnd  bigint not null,
    disbursed_vnd     bigint not null,
    as_of_date        date not null
);
create index fact_disbursement_unit on core.fact_disbursement (unit_code, submission_id);

create table core.fact_tasks (
    submission_id   bigint not null references audit.submission on delete cascade,
    slice_key       text not null,
    source_row      int not null,
    task_code       text not null,
    unit_code       text not null,
    title           text,
    assigned_date   date not null,
    due_date        date not null,
    completed_date  date
);
create index fact_tasks_unit on core.fact_tasks (unit_code, submission_id);

create table core.fact_admin_ops (
    submission_id          bigint not null references audit.submission on delete cascade,
    slice_key              text not null,
    source_row             int not null,
    unit_code              text not null,
    period                 text not null,
    documents_issued       bigint not null,
    conferences_in_person  bigint not null,
    conferences_online     bigint not null
);
create index fact_admin_ops_unit on core.fact_admin_ops (unit_code, submission_id);

create table core.fact_indicator (
    submission_id   bigint not null references audit.submission on delete cascade,
    slice_key       text not null,
    source_row      int not null,
    unit_code       text not null,
    indicator_code  text not null,
    period          text not null,
    value           numeric not null
);
create index fact_indicator_unit on core.fact_indicator (unit_code, submission_id);

-- ===== derived (re-derived per unit, incrementally) ==================================

create table core.metric_value (
    metric_code  text not null,
    unit_code    text not null,
    period       text not null,
    scope        text not null check (scope in ('month', 'ytd')),
    numerator    numeric,
    denominator  numeric,
    value        numeric,
    derived_at   timestamptz not null default now(),
    primary key (metric_code, unit_code, period, scope)
);
create index metric_value_unit on core.metric_value (unit_code);

create table core.indicator_value (
    indicator_code  text not null,
    unit_code       text not null,
    year            int not null,
    period          text not null,
    value           numeric,
    ytd_value       numeric,
    derived_at      timestamptz not null default now(),
    primary key (indicator_code, unit_code, period)
);

create table core.project_status (
    unit_code         text not null,
    project_code      text not null,
    project_name      text,
    project_group     text not null,
    as_of_date        date not null,
    capital_plan_vnd  bigint not null,
    disbursed_vnd     bigint not null,
    submission_id     bigint not null,
    primary key (unit_code, project_code)
);

create table core.pipeline_state (
    key    text primary key,
    value  text not null
);
