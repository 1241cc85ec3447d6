-- Record how a claimed message fared: sent (with its time) or failed (with the last error), and the attempts made.
update audit.alert
set status = :status,
    attempts = :attempts,
    error = :error,
    sent_at = case when :status = 'sent' then now() end
where alert_id = :alert_id
