-- V007: a submission's archived bytes may be one member of an archive pack (chitieu/packs.py): archive_path is
-- then the pack (a ZIP file) and archive_member the member's name in it. Submissions archived before keep a file
-- of their own (archive_member null).
alter table audit.submission add column archive_member text;
comment on column audit.submission.archive_member is
  'name of the archived copy inside the pack at archive_path (null: archive_path is the copy itself)';
