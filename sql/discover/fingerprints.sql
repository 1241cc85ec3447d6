-- Grain: one row per inbox path, its latest content seen (size, modification time, SHA-256). A file whose size
-- and modification time still match is not read and hashed again (rsync's quick check).
-- (the modification time as whole microseconds since 1970: integers are compared without building datetimes)
select distinct on (rel_path) rel_path, size_bytes,
       (extract(epoch from modified_at) * 1000000)::bigint as modified_us, sha256
from raw.landed_file
where disposition <> 'skipped'
order by rel_path, first_seen_at desc
