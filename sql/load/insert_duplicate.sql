-- Log a file whose bytes this unit already sent for this feed (once per file name).
insert into audit.submission (unit_code, feed, file_name, sha256, size_bytes, received_at, run_id, status,
                              duplicate_of)
select :unit_code, :feed, :file_name, :sha256, :size_bytes, :received_at, :run_id, 'duplicate', o.submission_id
from audit.submission o
where o.unit_code = :unit_code and o.feed = :feed and o.sha256 = :sha256 and o.status <> 'duplicate'
  and o.lock_released_at is null
on conflict (unit_code, feed, sha256, file_name) where status = 'duplicate' do nothing
returning submission_id
