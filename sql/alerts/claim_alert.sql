-- Claim one message for one channel and recipient before sending it: returns the new alert_id, or nothing when
-- the same dedupe key was already claimed (sent, failed, pending or not configured) by this or any other run.
insert into audit.alert (dedupe_key, kind, unit_code, feed, period, submission_id, channel, recipient, subject, body,
                         status, error)
values (:dedupe_key, :kind, :unit_code, :feed, :period, :submission_id, :channel, :recipient, :subject, :body,
        :status, :error)
on conflict (dedupe_key, channel, recipient) do nothing
returning alert_id
