-- Whether the submissions :ids (just claimed by this transaction, under their units' lock) are the first
-- disbursement submissions of all their units: no other disbursement submission of those units exists, whatever
-- its status. Then core.project_status holds nothing of them, and their rows are each project's latest among :ids
-- alone (tasks/load.py writes them from the batch in hand instead of reading the facts back).
select not exists (
    select from audit.submission s
    where s.feed = 'disbursement'
      and s.unit_code in (select unit_code from audit.submission where submission_id = any(:ids))
      and s.submission_id <> all(:ids)
);
