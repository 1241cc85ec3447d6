-- Claim one message for one channel and recipient before sending it: returns the new alert_id, or nothing when
-- the same dedupe key was already claimed (sent, failed, pending or not configured) by this or any other run.
-- Exceptions, claimed again:
-- - a `pending` claim left by a process killed between claiming and recording (at least once: the first attempt
--   may have gone out before the kill), saying so in `error`: one about a submission of an interrupted run
--   (:reclaimable), or a reminder claimed over an hour ago (a reminder has no submission to be recovered by, and
--   sending one takes seconds);
-- - a `failed` message to a real recipient, for :retry_days after it first failed (created_at is kept): a later
--   run tries it again once, so that a unit whose mail server was down still hears of its file.
insert into audit.alert (dedupe_key, kind, unit_code, feed, period, submission_id, channel, recipient, subject, body,
                         status, error)
values (:dedupe_key, :kind, :unit_code, :feed, :period, :submission_id, :channel, :recipient, :subject, :body,
        :status, :error)
on conflict (dedupe_key, channel, recipient) do update
    set status = excluded.status,
        error = case when audit.alert.status = 'failed'
                     then left('sent again: an earlier attempt failed (' || coalesce(audit.alert.error, '') || ')', 2000)
                     else 'claimed again: the run that first claimed it was interrupted before recording the outcome'
                end,
        created_at = case when audit.alert.status = 'failed' then audit.alert.created_at else now() end
    where (audit.alert.status = 'pending'
           and (audit.alert.submission_id = any(cast(:reclaimable as bigint[]))
                or (audit.alert.kind = 'reminder' and audit.alert.created_at < now() - interval '1 hour')))
       or (audit.alert.status = 'failed' and excluded.status = 'pending'
           and audit.alert.recipient <> '(no contact_email)'
           and audit.alert.created_at > now() - make_interval(days => cast(:retry_days as int)))
returning alert_id
