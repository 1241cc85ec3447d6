-- Claim one message for one channel and recipient before sending it: returns the new alert_id, or nothing when
-- the same dedupe key was already claimed (sent, failed, pending or not configured) by this or any other run.
-- Exception: a `pending` claim about a submission of an interrupted run (:reclaimable) was left by a process
-- killed between claiming and recording; nobody else will send it, so it is claimed again (at least once: the
-- first attempt may have gone out before the kill) and says so in `error`.
insert into audit.alert (dedupe_key, kind, unit_code, feed, period, submission_id, channel, recipient, subject, body,
                         status, error)
values (:dedupe_key, :kind, :unit_code, :feed, :period, :submission_id, :channel, :recipient, :subject, :body,
        :status, :error)
on conflict (dedupe_key, channel, recipient) do update
    set status = excluded.status,
        error = 'claimed again: the run that first claimed it was interrupted before recording the outcome',
        created_at = now()
    where audit.alert.status = 'pending' and audit.alert.submission_id = any(cast(:reclaimable as bigint[]))
returning alert_id
