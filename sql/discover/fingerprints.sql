-- Grain: one row per inbox path, its latest content seen (size, modification time, SHA-256). A file whose size
-- and modification time still match is not read and hashed again (rsync's quick check).
select distinct on (rel_path) rel_path, size_bytes, modified_at, sha256
from raw.landed_file
where disposition <> 'skipped'
order by rel_path, first_seen_at desc
