-- Review and approval (CONTRACT.md section 9). First of the view files: mart.metric_value joins mart.metric_approval.

-- mart.approval — grain: one row per approval or reopening of a unit's feed for a period (the whole history).
create view mart.approval as
with history as (
    select a.approval_id, a.unit_code, a.feed, a.period, a.status, a.acted_at as approved_at,
           a.acted_by as approved_by, a.reason, a.automatic,
           a.approval_id = max(a.approval_id) over (partition by a.unit_code, a.feed, a.period) as is_current
    from audit.approval a
)
select * from history;
comment on view mart.approval is
  'One row per approval (lock) or reopening of a unit''s feed for a period, oldest first; the row with is_current is in force.';
comment on column mart.approval.approval_id is 'order of the actions (increasing)';
comment on column mart.approval.unit_code is 'the unit whose period is approved or reopened';
comment on column mart.approval.feed is 'the feed (dossier, disbursement, tasks, admin_ops, indicator)';
comment on column mart.approval.period is 'the period: YYYY-MM (indicator feed: as reported, YYYY-MM, YYYY-Qn or YYYY)';
comment on column mart.approval.status is 'approved (the period is locked) or reopened';
comment on column mart.approval.approved_at is 'when it was approved or reopened';
comment on column mart.approval.approved_by is 'who: the portal account, the operating-system user of the command line, or auto';
comment on column mart.approval.reason is 'why it was reopened (null for an approval)';
comment on column mart.approval.automatic is 'locked automatically some days after the due date (catalog/feeds.csv)';
comment on column mart.approval.is_current is 'this row is the latest for its unit, feed and period (in force)';

-- mart.metric_approval — grain: one row per derived metric, unit (or the province), period and scope.
create view mart.metric_approval as
with locked as (
    select unit_code, feed, period from core.approval_state where status = 'approved'
),
first_open as (  -- per unit, feed and year: the first month with current data that is not approved
    select c.unit_code, c.feed, left(c.period, 4) as year, min(c.period) as period
    from core.current_slice c
    left join locked l using (unit_code, feed, period)
    where c.period ~ '^[0-9]{4}-[0-9]{2}$' and l.unit_code is null
    group by c.unit_code, c.feed, left(c.period, 4)
),
unit_rows as not materialized (
    -- inlined into both uses, so that a filter on the view (a metric, a scope) reaches core.metric_value's key and
    -- its row estimates: materialised, the CTE was estimated at 1 row and mart.metric_value joined it by a nested
    -- loop (the province's monthly rate of one metric at national scale: 1.8 s -> 0.04 s)
    select mv.metric_code, mv.unit_code, mv.period, mv.scope,
           l.unit_code is not null
           and (d.is_stock or mv.scope = 'month' or f.period is null or f.period > mv.period) as is_approved
    from core.metric_value mv
    join core.metric_definition d using (metric_code)
    join core.unit u on u.unit_code = mv.unit_code and u.level <> 'province'
    left join locked l on l.unit_code = mv.unit_code and l.feed = d.feed and l.period = mv.period
    left join first_open f on f.unit_code = mv.unit_code and f.feed = d.feed and f.year = left(mv.period, 4)
),
province_rows as (
    select r.metric_code, p.unit_code, r.period, r.scope, bool_and(r.is_approved) as is_approved
    from unit_rows r cross join (select unit_code from core.unit where level = 'province') p
    group by r.metric_code, p.unit_code, r.period, r.scope
)
select * from unit_rows
union all
select * from province_rows;
comment on view mart.metric_approval is
  'One row per derived metric, unit (or province roll-up), period and scope: whether the value rests on approved periods only. A month: its month approved. Year to date: its month approved and every earlier month of the year the unit reported. A stock (tasks, disbursement): its month approved. The province: every contributing unit''s row approved.';
comment on column mart.metric_approval.metric_code is 'the derived metric';
comment on column mart.metric_approval.unit_code is 'the unit, or the province code for the roll-up';
comment on column mart.metric_approval.period is 'YYYY-MM';
comment on column mart.metric_approval.scope is 'month or ytd';
comment on column mart.metric_approval.is_approved is 'true when the value rests on approved periods only';

-- mart.review_queue — grain: one row per unit, feed and period holding current data.
create view mart.review_queue as
with current_periods as (
    select distinct unit_code, feed, period, submission_id
    from core.current_slice where period is not null
    union
    select distinct unit_code, 'tasks', to_char(due_date, 'YYYY-MM'), submission_id
    from core.current_tasks
),
row_periods as (  -- which period each row of a current submission reports, to tell a warning's periods apart
    select submission_id, source_row, period from core.current_dossier
    union all select submission_id, source_row, period from core.current_admin_ops
    union all select submission_id, source_row, period from core.current_indicator
    union all select submission_id, source_row, to_char(as_of_date, 'YYYY-MM') from core.current_disbursement
    union all select submission_id, source_row, to_char(due_date, 'YYYY-MM') from core.current_tasks
),
warnings as (
    select p.unit_code, p.feed, p.period, c.submission_id, c.expectation, c.column_name, c.failed_rows,
           c.message_vi, c.sample, e.explanation, e.explained_by, e.explained_at
    from current_periods p
    join audit.check_result c on c.submission_id = p.submission_id and c.severity = 'warning'
    left join lateral (
        select x.explanation, x.explained_by, x.explained_at from audit.warning_explanation x
        where x.submission_id = c.submission_id and x.expectation = c.expectation
          and x.column_name is not distinct from c.column_name
        order by x.explanation_id desc limit 1
    ) e on true
    where coalesce(cardinality(c.failed_row_numbers), 0) = 0
       or exists (select 1 from row_periods r
                  where r.submission_id = c.submission_id and r.period = p.period
                    and r.source_row = any(c.failed_row_numbers))
),
grouped as (
    select p.unit_code, p.feed, p.period,
           array_agg(distinct p.submission_id order by p.submission_id) as submission_ids,
           count(w.expectation) as open_warnings,
           count(w.explanation) as explained_warnings,
           coalesce(jsonb_agg(jsonb_build_object(
               'submission_id', w.submission_id, 'expectation', w.expectation, 'column_name', w.column_name,
               'failed_rows', w.failed_rows, 'message_vi', w.message_vi, 'sample', w.sample,
               'explanation', w.explanation, 'explained_by', w.explained_by, 'explained_at', w.explained_at)
               order by w.submission_id, w.expectation) filter (where w.expectation is not null),
               '[]'::jsonb) as warnings
    from current_periods p
    left join warnings w on w.unit_code = p.unit_code and w.feed = p.feed and w.period = p.period
                        and w.submission_id = p.submission_id
    group by p.unit_code, p.feed, p.period
),
final as (
    select g.unit_code, g.feed, g.period, g.submission_ids, g.open_warnings, g.explained_warnings, g.warnings,
           (select coalesce(jsonb_agg(jsonb_build_object(
                       'submission_id', n.submission_id, 'note', n.note, 'column_name', n.column_name,
                       'row_count', n.row_count, 'message_vi', n.message_vi) order by n.note_id), '[]'::jsonb)
            from audit.submission_note n where n.submission_id = any(g.submission_ids)) as notes,
           coalesce(a.status = 'approved', false) as is_approved, a.status as approval_status,
           a.acted_by as approval_by, a.acted_at as approval_at
    from grouped g
    left join core.approval_state a on a.unit_code = g.unit_code and a.feed = g.feed and a.period = g.period
)
select * from final;
comment on view mart.review_queue is
  'One row per unit, feed and period holding current data, for the reviewer: the warnings still open on its current submissions (with the unit''s explanation where it gave one) and whether the period is approved.';
comment on column mart.review_queue.unit_code is 'the reporting unit';
comment on column mart.review_queue.feed is 'the feed';
comment on column mart.review_queue.period is 'YYYY-MM (indicator feed: as reported; tasks: the month tasks are due)';
comment on column mart.review_queue.submission_ids is 'the current submissions carrying the period';
comment on column mart.review_queue.open_warnings is 'warnings of those submissions on rows of the period (or on the whole file)';
comment on column mart.review_queue.explained_warnings is 'how many of them the unit explained';
comment on column mart.review_queue.warnings is 'each warning: check, column, failing rows, Vietnamese message, sample (score and baseline of an outlier), and the unit''s latest explanation';
comment on column mart.review_queue.notes is 'notes on those submissions that are not failed checks, e.g. history_too_short: rows too new to be scored as outliers';
comment on column mart.review_queue.is_approved is 'the period is approved (locked)';
comment on column mart.review_queue.approval_status is 'latest action on the period: approved, reopened, or null (never approved)';
comment on column mart.review_queue.approval_by is 'who took that action';
comment on column mart.review_queue.approval_at is 'when';
