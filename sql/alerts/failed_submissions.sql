-- Submissions whose alert failed to reach a real recipient within :retry_days (claim_alert.sql claims them again),
-- but not a problem that a notice sent since has resolved: the unit need not hear of it now.
select distinct a.submission_id
from audit.alert a
where a.status = 'failed' and a.submission_id is not null and a.recipient <> '(no contact_email)'
  and a.created_at > now() - make_interval(days => cast(:retry_days as int))
  and not exists (select 1 from audit.alert r
                  where r.dedupe_key = 'resolved:' || a.submission_id and r.status = 'sent')
