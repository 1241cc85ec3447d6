-- The reviewer's queue (mart.review_queue), filtered by units (null: all), feed and period (null: any), newest
-- period first: grain one row per unit, feed and period holding current data.
select q.unit_code, q.feed, q.period, q.submission_ids, q.open_warnings, q.explained_warnings, q.warnings,
       q.notes, q.is_approved, q.approval_status, q.approval_by, q.approval_at
from mart.review_queue q
where (cast(:units as text[]) is null or q.unit_code = any(cast(:units as text[])))
  and (cast(:feed as text) is null or q.feed = cast(:feed as text))
  and (cast(:period as text) is null or q.period = cast(:period as text))
order by q.period desc, q.unit_code, q.feed
limit :limit
