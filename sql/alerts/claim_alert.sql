-- Claim one message for one channel and recipient before sending it: returns the new alert_id, or nothing when
-- the same dedupe key was already claimed (sent, failed, pending or not configured) by this or any other run.
-- Exception: a `pending` claim left by a process killed between claiming and recording is claimed again (at
-- least once: the first attempt may have gone out before the kill), saying so in `error`: one about a
-- submission of an interrupted run (:reclaimable), or a reminder claimed over an hour ago (a reminder has no
-- submission to be recovered by, and sending one takes seconds).
insert into audit.alert (dedupe_key, kind, unit_code, feed, period, submission_id, channel, recipient, subject, body,
                         status, error)
values (:dedupe_key, :kind, :unit_code, :feed, :period, :submission_id, :channel, :recipient, :subject, :body,
        :status, :error)
on conflict (dedupe_key, channel, recipient) do update
    set status = excluded.status,
        error = 'claimed again: the run that first claimed it was interrupted before recording the outcome',
        created_at = now()
    where audit.alert.status = 'pending'
      and (audit.alert.submission_id = any(cast(:reclaimable as bigint[]))
           or (audit.alert.kind = 'reminder' and audit.alert.created_at < now() - interval '1 hour'))
returning alert_id
