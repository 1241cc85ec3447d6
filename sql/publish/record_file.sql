-- Record one published file; changed = its bytes differ from the last publication of the same file name.
insert into audit.open_data_publication (out_dir, resource, file_name, sha256, bytes, row_count, as_of, changed)
select :out_dir, :resource, :file_name, :sha256, :bytes, :row_count, :as_of,
       coalesce((select p.sha256 from audit.open_data_publication p
                 where p.file_name = :file_name
                 order by p.publication_file_id desc limit 1) <> :sha256, true)
returning changed
