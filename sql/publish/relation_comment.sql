-- Whether a relation exists, and its COMMENT.
select to_regclass(:relation) is not null as present,
       obj_description(to_regclass(:relation), 'pg_class') as description
