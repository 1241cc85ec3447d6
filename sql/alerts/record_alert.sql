-- Record how a claimed message fared: sent (with its time) or failed (with the last error), and the attempts made;
-- a note left at claim time (claimed again after an interruption) is kept when there is no new error.
update audit.alert
set status = :status,
    attempts = :attempts,
    error = coalesce(:error, error),
    sent_at = case when :status = 'sent' then now() end
where alert_id = :alert_id
