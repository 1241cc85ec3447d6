-- What each open-data publication wrote (chitieu publish): one row per file of the package, with its hash,
-- so a portal (or an operator) can tell which resources changed since the previous publication.
create table audit.open_data_publication (
    publication_file_id  bigserial primary key,
    published_at         timestamptz not null default now(),
    out_dir              text not null,
    resource             text not null,
    file_name            text not null,
    sha256               text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    bytes                bigint not null,
    row_count            int,
    as_of                date not null,
    changed              boolean not null
);
create index open_data_publication_file on audit.open_data_publication (file_name, publication_file_id desc);
comment on table audit.open_data_publication is
  'One row per file written by an open-data publication: resource, file name, sha256, bytes, row count (NULL for the descriptors), the data''s as-of date, and whether the bytes changed since the previous publication of that file.';
