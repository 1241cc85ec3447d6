-- Claim a batch of files' contents for their units and feeds, in the batch's order (:rows, a JSON array);
-- a file whose content a concurrent run already holds is left out, so only the claimed ones come back (a refusal
-- by period_locked released by a reopening holds nothing: V011).
insert into audit.submission (unit_code, feed, file_name, sha256, size_bytes, received_at, run_id, status,
                              rows_total, rows_failed, archive_path, archive_member, periods, message)
select f.unit_code, f.feed, f.file_name, f.sha256, f.size_bytes, f.received_at, cast(:run_id as bigint), f.status,
       f.rows_total, f.rows_failed, f.archive_path, f.archive_member, coalesce(f.periods, '{}'), f.message
from jsonb_to_recordset(cast(:rows as jsonb)) as f(ord int, unit_code text, feed text, file_name text, sha256 text,
                                                  size_bytes bigint, received_at timestamptz, status text,
                                                  rows_total int, rows_failed int, archive_path text,
                                                  archive_member text,
                                                  periods text[], message text)
order by f.ord
on conflict (unit_code, feed, sha256) where status <> 'duplicate' and lock_released_at is null do nothing
returning submission_id, unit_code, feed, sha256
