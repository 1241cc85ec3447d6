"""Query results as Arrow tables through `COPY (query) TO STDOUT`.

A million rows fetched as Python row objects and turned into a DataFrame take seconds (7.8 s for the projects of
3,321 communes); the same rows as CSV bytes read by pyarrow take a fraction of one.
"""

from __future__ import annotations

import io

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

__all__ = ["read_table"]


def read_table(engine: sa.Engine, query: str, params: dict, types: dict[str, pa.DataType],
               planner: dict[str, str] | None = None) -> pa.Table:
    """Rows of `query` (psycopg `%(name)s` placeholders, bound client-side) as an Arrow table of the columns `types`;
    `planner`: settings for that query alone (e.g. enable_seqscan)."""
    raw = engine.raw_connection()
    try:
        conn: psycopg.Connection = raw.driver_connection
        for name, value in (planner or {}).items():
            conn.execute("select set_config(%s, %s, true)", (name, value))
        bound = psycopg.ClientCursor(conn).mogrify(query, params)
        buffer = io.BytesIO()
        with conn.cursor() as cur, cur.copy(f"copy ({bound}) to stdout with (format csv, header)") as copy:
            for chunk in copy:
                buffer.write(chunk)
        raw.commit()
    finally:
        raw.close()
    buffer.seek(0)
    table = pacsv.read_csv(buffer, convert_options=pacsv.ConvertOptions(column_types=types,
                                                                       strings_can_be_null=True))
    return table.select(list(types))
