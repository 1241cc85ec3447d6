-- Claim one file's content for its unit and feed; returns nothing when a concurrent run already holds it.
insert into audit.submission (unit_code, feed, file_name, sha256, size_bytes, received_at, run_id, status,
                              rows_total, rows_failed, archive_path, periods, message)
values (:unit_code, :feed, :file_name, :sha256, :size_bytes, :received_at, :run_id, :status,
        :rows_total, :rows_failed, :archive_path, :periods, :message)
on conflict (unit_code, feed, sha256) where status <> 'duplicate' do nothing
returning submission_id
