"""Checksums of every `mart` view (rows, columns with their types, comments): the proof that a change to the
warehouse left what BI tools read identical. Prints JSON; compare two runs with `diff`.

Usage: python bench/mart_checksums.py POSTGRES_URL > before.json
"""

from __future__ import annotations

import json
import sys

import psycopg

_COLUMNS = """
select a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum)
from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'mart' and c.relname = %s and a.attnum > 0 and not a.attisdropped
order by a.attnum
"""


def checksums(url: str) -> dict:
    """Per mart view: row count, md5 of its rows sorted as text, its columns and comments."""
    out = {}
    with psycopg.connect(url) as conn:
        views = [r[0] for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'mart' and c.relkind in ('v', 'm', 'r') order by 1")]
        for view in views:
            count, digest = conn.execute(
                f"select count(*), md5(coalesce(string_agg(t::text, E'\\n' order by t::text), ''))"
                f" from mart.{view} t").fetchone()
            comment = conn.execute("select obj_description(%s::regclass, 'pg_class')", (f"mart.{view}",)).fetchone()[0]
            out[view] = {"rows": count, "md5": digest, "comment": comment,
                         "columns": [list(r) for r in conn.execute(_COLUMNS, (view,))]}
    return out


if __name__ == "__main__":
    print(json.dumps(checksums(sys.argv[1]), indent=1, ensure_ascii=False))
