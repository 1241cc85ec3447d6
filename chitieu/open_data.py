"""The province's open-data package (CONTRACT.md section 10): CSV + Parquet per resource, datapackage.json, dcat.jsonld.

Table schemas are generated from the warehouse itself: each resource is a `mart` view whose columns, types and
COMMENTs (pg_catalog) become the Frictionless fields, so a column added to a view is published with its comment.
Only the Vietnamese titles of columns live here (`COLUMN_TITLES_VI`; feed columns reuse expectations/feeds.json).

Determinism: rows are ordered by the primary key (collation "C"), the only date written is the data's own as-of,
processing timestamps are not published, and CSV (frictionless) and Parquet (pyarrow) bytes depend on the data
only. The same warehouse therefore gives the same bytes, and a portal can compare hashes to pull what changed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from chitieu.config import FEEDS
from chitieu.errors import ChitieuError
from chitieu.feeds import feed_spec
from chitieu.warehouse import read_sql

__all__ = [
    "COLUMN_TITLES_VI",
    "LICENSE",
    "RESOURCES",
    "PublishedFile",
    "PublishedPackage",
    "ResourceSpec",
    "build_package",
]

LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0 International",
}
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
CSV_MEDIA_TYPE = "text/csv"
_IANA = "https://www.iana.org/assignments/media-types/"
_EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


@dataclass(frozen=True)
class ResourceSpec:
    """One published table: the relation it comes from, its key and titles.

    `stand_in` is an sql/ file creating a temporary view used when the relation does not exist (yet);
    `defaults` are columns the contract promises that the relation may lack: name -> (pg type, SQL, description);
    `drop` are internal columns not published; `foreign_keys` map a field to the resource whose key it names;
    `approvals`: an sql/ file giving a default's expression instead once mart.approval exists."""

    name: str
    relation: str
    primary_key: tuple[str, ...]
    title_vi: str
    title_en: str
    stand_in: tuple[str, str] | None = None          # (temporary view name, sql file)
    defaults: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[str, str], ...] = ()
    approvals: str | None = None


_APPROVED = ("boolean", "false", "Whether a reviewer has approved (locked) the unit's figures for this period. "
                                 "false until approvals are recorded in the warehouse.")

RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec("metric_value", "mart.metric_value", ("metric_code", "unit_code", "period", "scope"),
                 "Giá trị các chỉ số theo đơn vị và kỳ", "Metric values by unit and period",
                 defaults={"is_approved": _APPROVED},
                 foreign_keys=(("metric_code", "metric"), ("unit_code", "unit"))),
    ResourceSpec("target_attainment", "mart.target_attainment", ("target_code",),
                 "Mức độ đạt các chỉ tiêu của năm", "Attainment of the year's targets",
                 foreign_keys=(("metric_code", "metric"), ("unit_code", "unit"))),
    ResourceSpec("disbursement_progress", "mart.disbursement_progress", ("project_code",),
                 "Tiến độ giải ngân vốn đầu tư công theo dự án", "Public-investment disbursement progress by project",
                 drop=("submission_id",), foreign_keys=(("unit_code", "unit"),)),
    ResourceSpec("reporting_rate", "mart.reporting_rate", ("unit_code", "feed", "period"),
                 "Tình hình gửi báo cáo định kỳ của các đơn vị", "Completeness and timeliness of units' reports",
                 defaults={"is_approved": _APPROVED}, approvals="publish/period_approved.sql",
                 foreign_keys=(("unit_code", "unit"),)),
    ResourceSpec("metric", "mart.metric", ("metric_code",),
                 "Danh mục chỉ số, chỉ tiêu", "Metrics and indicators",
                 stand_in=("pg_temp.open_data_metric", "publish/metric_from_catalog.sql")),
    ResourceSpec("unit", "mart.unit", ("unit_code",),
                 "Danh mục đơn vị báo cáo", "Reporting units"),
)

# Vietnamese titles of the published columns; columns of the feeds fall back to their labels in feeds.json.
COLUMN_TITLES_VI = {
    "metric_code": "Mã chỉ số", "unit_code": "Mã đơn vị", "period": "Kỳ báo cáo", "period_start": "Ngày đầu kỳ",
    "scope": "Phạm vi (tháng hoặc lũy kế năm)", "numerator": "Tử số", "denominator": "Mẫu số", "value": "Giá trị",
    "is_approved": "Đã được phê duyệt", "target_code": "Mã chỉ tiêu", "year": "Năm", "comparator": "Phép so sánh",
    "target_value": "Giá trị chỉ tiêu", "actual_value": "Giá trị thực hiện", "as_of_period": "Kỳ của số liệu",
    "status": "Tình trạng", "unit_of_measure": "Đơn vị tính", "deadline": "Thời hạn", "owner": "Đơn vị chủ trì",
    "description_vi": "Nội dung chỉ tiêu (tiếng Việt)", "description_en": "Nội dung chỉ tiêu (tiếng Anh)",
    "source_doc": "Văn bản nguồn", "source_clause": "Mục của văn bản nguồn", "indicator_name_vi": "Tên chỉ số",
    "direction": "Chiều tốt (tăng hoặc giảm)", "progress_pct": "Tỷ lệ giải ngân", "milestone_date": "Mốc thời hạn",
    "milestone_pct": "Tỷ lệ giải ngân yêu cầu tại mốc", "feed": "Loại báo cáo", "due_date": "Hạn gửi báo cáo",
    "received": "Đã nhận báo cáo", "on_time": "Gửi đúng hạn", "is_due": "Đã đến hạn gửi",
    "name_vi": "Tên tiếng Việt", "name_en": "Tên tiếng Anh", "level": "Cấp", "parent_code": "Mã đơn vị cấp trên",
    "is_active": "Đang hoạt động", "monthly_feeds": "Báo cáo phải gửi hằng tháng", "periodicity": "Chu kỳ",
    "aggregation": "Cách cộng dồn lũy kế", "source_feed": "Nguồn số liệu",
    "effective_from": "Áp dụng từ ngày", "decision_ref": "Quyết định điều chỉnh chỉ tiêu",
    "kind": "Loại chỉ số (tính từ báo cáo hoặc đơn vị tự báo cáo)",
}
# Units of measure of the columns whose unit is fixed (a value's unit otherwise comes with its metric).
COLUMN_UNITS = {"capital_plan_vnd": "VND", "disbursed_vnd": "VND", "progress_pct": "%", "milestone_pct": "%"}


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    field_type: str
    description: str | None
    expression: str


@dataclass(frozen=True)
class Table:
    spec: ResourceSpec
    relation: str
    description: str | None
    columns: list[Column]
    stand_in: bool


@dataclass(frozen=True)
class PublishedFile:
    resource: str
    file_name: str
    sha256: str
    bytes: int
    row_count: int | None


@dataclass(frozen=True)
class PublishedPackage:
    folder: Path
    as_of: dt.date
    files: list[PublishedFile]
    notes: list[str]


# --- what to publish, read from the warehouse ---------------------------------------------


@dataclass(frozen=True)
class _Context:
    province_code: str
    name_vi: str
    name_en: str | None
    as_of: dt.date
    sources: list[dict]


def _context(conn: sa.Connection) -> _Context:
    provinces = conn.execute(sa.text(read_sql("publish/context.sql"))).mappings().all()
    if len(provinces) != 1:
        raise ChitieuError(f"the catalog must have exactly one unit of level 'province' to publish as; "
                           f"it has {len(provinces)}")
    province = provinces[0]
    if province["as_of"] is None:
        raise ChitieuError("nothing to publish yet: no metrics have been derived (run `chitieu run` first)")
    sources = [{"title": r.source_doc, "description": f"Cited clauses: {r.clauses}"}
               for r in conn.execute(sa.text(read_sql("publish/sources.sql")))]
    return _Context(province["unit_code"], province["name_vi"], province["name_en"], province["as_of"], sources)


def _field_type(relation: str, column: str, pg_type: str) -> str | None:
    """Frictionless type of a PostgreSQL type; None for timestamps (processing times are not published)."""
    base = pg_type.split("(", 1)[0]
    if base.startswith("timestamp") or base.startswith("time "):
        return None
    types = {"text": "string", "character varying": "string", "character": "string", "name": "string",
             "text[]": "string", "character varying[]": "string",
             "integer": "integer", "bigint": "integer", "smallint": "integer",
             "numeric": "number", "double precision": "number", "real": "number",
             "boolean": "boolean", "date": "date"}
    if base not in types:
        raise ChitieuError(f"{relation}.{column}: type {pg_type} has no open-data representation")
    return types[base]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def describe(conn: sa.Connection, spec: ResourceSpec) -> Table:
    """The published columns of a resource, from the relation's catalog entries (or its stand-in's)."""
    relation, stand_in = spec.relation, False
    present, description = conn.execute(sa.text(read_sql("publish/relation_comment.sql")),
                                        {"relation": relation}).one()
    if not present:
        if spec.stand_in is None:
            raise ChitieuError(f"the warehouse has no {relation}: run `chitieu init` to create the mart views")
        relation, sql_file = spec.stand_in
        conn.exec_driver_sql(read_sql(sql_file))
        stand_in = True
        present, description = conn.execute(sa.text(read_sql("publish/relation_comment.sql")),
                                            {"relation": relation}).one()
    columns = []
    for row in conn.execute(sa.text(read_sql("publish/relation_columns.sql")), {"relation": relation}):
        if row.name in spec.drop:
            continue
        field_type = _field_type(relation, row.name, row.pg_type)
        if field_type is None:
            continue
        expression = _quote(row.name)
        if row.pg_type.endswith("[]"):  # arrays as the catalog writes them: space-separated, empty = NULL
            expression = f"nullif(array_to_string({expression}, ' '), '') as {expression}"
        columns.append(Column(row.name, row.pg_type, field_type, row.description, expression))
    names = {c.name for c in columns}
    approvals = spec.approvals and conn.scalar(sa.text("select to_regclass('mart.approval') is not null"))
    for name, (pg_type, sql, text) in spec.defaults.items():
        if name not in names:
            if approvals:
                sql = "(" + "\n".join(line for line in read_sql(spec.approvals).splitlines()
                                       if not line.lstrip().startswith("--")) + ")"
            columns.append(Column(name, pg_type, _field_type(relation, name, pg_type), text,
                                  f"{sql}::{pg_type} as {_quote(name)}"))
    missing = [k for k in spec.primary_key if k not in {c.name for c in columns}]
    if missing:
        raise ChitieuError(f"{relation} lacks the key column(s) {', '.join(missing)} of resource {spec.name}")
    return Table(spec, relation, description, columns, stand_in)


def fetch_rows(conn: sa.Connection, table: Table) -> list[tuple]:
    """The relation's rows in primary-key order (byte order, whatever the database's collation)."""
    kinds = {c.name: c.field_type for c in table.columns}
    order = ", ".join(_quote(k) + (' collate "C"' if kinds[k] == "string" else "") for k in table.spec.primary_key)
    sql = f"select {', '.join(c.expression for c in table.columns)} from {table.relation} r order by {order}"
    return [tuple(r) for r in conn.exec_driver_sql(sql)]


# --- schemas --------------------------------------------------------------------------------


def _title_vi(column: str) -> str:
    if column in COLUMN_TITLES_VI:
        return COLUMN_TITLES_VI[column]
    for feed in FEEDS:
        if column in feed_spec(feed).names:
            return feed_spec(feed).label(column)
    return column


def table_schema(table: Table) -> dict:
    """The Frictionless table schema of a resource."""
    fields = []
    for c in table.columns:
        entry: dict = {"name": c.name, "type": c.field_type, "title": _title_vi(c.name)}
        if c.description:
            entry["description"] = c.description
        if c.name in COLUMN_UNITS:
            entry["unit"] = COLUMN_UNITS[c.name]
        if c.field_type == "date":
            entry["format"] = "default"
        fields.append(entry)
    schema: dict = {"fields": fields, "primaryKey": list(table.spec.primary_key)}
    published = {s.name: s for s in RESOURCES}
    if table.spec.foreign_keys:
        schema["foreignKeys"] = [
            {"fields": [column], "reference": {"resource": target, "fields": list(published[target].primary_key)}}
            for column, target in table.spec.foreign_keys]
    return schema


# --- files ----------------------------------------------------------------------------------


def _write_csv(path: Path, table: Table, schema: dict, rows: list[tuple]) -> None:
    from frictionless import Resource, Schema

    header = [c.name for c in table.columns]
    own = {k: v for k, v in schema.items() if k != "foreignKeys"}  # checked on the package, not while writing
    Resource(data=[header, *rows], schema=Schema.from_descriptor(own)).write(str(path))


def _decimal_type(table: Table, column: Column, values: list):
    """decimal128 wide enough for every value of the column: numeric(p,s) as declared, else the largest scale."""
    import pyarrow as pa

    declared = re.fullmatch(r"numeric\((\d+),(\d+)\)", column.pg_type)
    if declared:
        return pa.decimal128(int(declared.group(1)), int(declared.group(2)))
    scale = max((max(-v.as_tuple().exponent, 0) for v in values if isinstance(v, Decimal)), default=0)
    digits = max((len(v.as_tuple().digits) + v.as_tuple().exponent for v in values if isinstance(v, Decimal)),
                 default=1)
    if scale + max(digits, 1) > 38:
        raise ChitieuError(f"{table.relation}.{column.name}: values need more than 38 digits for Parquet")
    return pa.decimal128(38, scale)


def _write_parquet(path: Path, table: Table, schema: dict, rows: list[tuple]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    titles = {f["name"]: f for f in schema["fields"]}
    arrays, fields = [], []
    for index, column in enumerate(table.columns):
        values = [row[index] for row in rows]
        if column.field_type == "number":
            kind = pa.float64() if column.pg_type in ("double precision", "real") else \
                _decimal_type(table, column, values)
        else:
            kind = {"string": pa.string(), "integer": pa.int64(), "boolean": pa.bool_(),
                    "date": pa.date32()}[column.field_type]
        meta = {"title": titles[column.name]["title"]}
        if column.description:
            meta["description"] = column.description
        try:
            arrays.append(pa.array(values, type=kind))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ChitieuError(f"{table.relation}.{column.name}: cannot write to Parquet: {exc}") from exc
        fields.append(pa.field(column.name, kind, metadata=meta))
    data = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata={"resource": table.spec.name}))
    # No creation time is written: the footer's created_by names the library version only.
    pq.write_table(data, path, compression="zstd", compression_level=9)


# --- descriptors ----------------------------------------------------------------------------


def _year(context: _Context) -> int:
    return context.as_of.year


def _titles(context: _Context) -> tuple[str, str]:
    year = _year(context)
    name_en = context.name_en or context.name_vi
    return (f"Theo dõi thực hiện chỉ tiêu năm {year} — {context.name_vi}",
            f"Monitoring of the {year} targets — {name_en}")


def _package_descriptor(context: _Context, resources: list, notes: list[str]) -> dict:
    title_vi, title_en = _titles(context)
    return {
        "name": re.sub(r"[^a-z0-9]+", "-", f"{context.province_code.lower()}-chitieu-{_year(context)}").strip("-"),
        "title": title_vi,
        "description": (
            f"{title_en}. Derived from the units' reports as of {context.as_of.isoformat()}: metric values by unit "
            "and period (month and year to date), attainment of each target of the catalog with the document it "
            "comes from, disbursement progress of public-investment projects, and whether units report on time. "
            "Each table comes as UTF-8 CSV and as Parquet. Rows of metric_value carry is_approved: figures not yet "
            "approved by a reviewer may still be corrected." + "".join(f" {n}" for n in notes)),
        "version": context.as_of.isoformat(),
        "licenses": [LICENSE],
        "sources": context.sources,
        "keywords": ["chỉ tiêu", "cải cách hành chính", "giải ngân đầu tư công", "targets", "open data"],
        "resources": resources,
    }


def _literal(text: str, language: str) -> dict:
    return {"@value": text, "@language": language}


def _dcat(context: _Context, tables: list[Table], files: dict[str, PublishedFile]) -> dict:
    """DCAT-AP catalog: one dataset per resource, its CSV and Parquet as distributions (URLs relative to here)."""
    title_vi, title_en = _titles(context)
    as_of = {"@value": context.as_of.isoformat(), "@type": "xsd:date"}
    publisher = {"@type": "foaf:Agent", "foaf:name": [_literal(context.name_vi, "vi")]
                 + ([_literal(context.name_en, "en")] if context.name_en else [])}
    period = {"@type": "dct:PeriodOfTime",
              "dcat:startDate": {"@value": f"{_year(context)}-01-01", "@type": "xsd:date"}, "dcat:endDate": as_of}
    license_ = {"@id": LICENSE["path"]}

    def distribution(published: PublishedFile, media_type: str, fmt: str) -> dict:
        return {
            "@id": f"#{published.file_name}", "@type": "dcat:Distribution",
            "dct:title": [_literal(published.file_name, "vi"), _literal(published.file_name, "en")],
            "dcat:downloadURL": {"@id": published.file_name}, "dcat:accessURL": {"@id": published.file_name},
            "dcat:mediaType": {"@id": _IANA + media_type}, "dct:format": {"@id": _EU_FILE_TYPE + fmt},
            "dcat:byteSize": {"@value": str(published.bytes), "@type": "xsd:nonNegativeInteger"},
            "spdx:checksum": {"@type": "spdx:Checksum", "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                              "spdx:checksumValue": published.sha256},
            "dct:license": license_, "dct:issued": as_of, "dct:modified": as_of,
        }

    datasets = []
    for table in tables:
        spec = table.spec
        datasets.append({
            "@id": f"#{spec.name}", "@type": "dcat:Dataset",
            "dct:identifier": spec.name,
            "dct:title": [_literal(spec.title_vi, "vi"), _literal(spec.title_en, "en")],
            "dct:description": [_literal(spec.title_vi + ".", "vi"),
                                _literal(table.description or spec.title_en, "en")],
            "dct:publisher": publisher, "dct:issued": as_of, "dct:modified": as_of, "dct:temporal": period,
            "dct:license": license_, "dct:language": [{"@id": "http://publications.europa.eu/resource/authority/language/VIE"}],
            "dcat:keyword": [_literal(spec.name, "en")],
            "dcat:distribution": [distribution(files[f"{spec.name}.csv"], CSV_MEDIA_TYPE, "CSV"),
                                  distribution(files[f"{spec.name}.parquet"], PARQUET_MEDIA_TYPE, "PARQUET")],
        })
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/", "xsd": "http://www.w3.org/2001/XMLSchema#",
                     "spdx": "http://spdx.org/rdf/terms#"},
        "@id": "#catalog", "@type": "dcat:Catalog",
        "dct:title": [_literal(title_vi, "vi"), _literal(title_en, "en")],
        "dct:description": [
            _literal(f"Gói dữ liệu mở về thực hiện chỉ tiêu năm {_year(context)} của {context.name_vi}, số liệu "
                     f"đến ngày {context.as_of.strftime('%d/%m/%Y')}.", "vi"),
            _literal(f"Open-data package on the {_year(context)} targets of {context.name_en or context.name_vi}, "
                     f"data as of {context.as_of.isoformat()}.", "en")],
        "dct:publisher": publisher, "dct:issued": as_of, "dct:modified": as_of, "dct:license": license_,
        "dct:conformsTo": {"@id": "https://specs.frictionlessdata.io/data-package/"},
        "dcat:dataset": datasets,
    }


# --- the package ----------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_package(conn: sa.Connection, out: Path) -> PublishedPackage:
    """Write the package into `out` (files replaced whole, after all were written) and describe what was written."""
    from frictionless import Package, Resource, Schema
    from frictionless.resources import FileResource

    context = _context(conn)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".publishing-", dir=out))
    try:
        tables, resources, files, notes = [], [], {}, []
        for spec in RESOURCES:
            table = describe(conn, spec)
            if table.stand_in:
                notes.append(f"The {spec.name} resource is derived from the catalog ({spec.relation} is missing).")
            schema = table_schema(table)
            rows = fetch_rows(conn, table)
            csv_name, parquet_name = f"{spec.name}.csv", f"{spec.name}.parquet"
            _write_csv(staging / csv_name, table, schema, rows)
            _write_parquet(staging / parquet_name, table, schema, rows)
            resources.append(Resource(path=csv_name, basepath=str(staging), name=spec.name, title=spec.title_vi,
                                      description=table.description or spec.title_en,
                                      schema=Schema.from_descriptor(schema)))
            resources.append(FileResource(path=parquet_name, basepath=str(staging), name=f"{spec.name}_parquet",
                                          title=f"{spec.title_vi} (Parquet)", mediatype=PARQUET_MEDIA_TYPE,
                                          description=f"The {spec.name} table as Apache Parquet, same rows and "
                                                      "columns as the CSV."))
            files[csv_name] = PublishedFile(spec.name, csv_name, _sha256(staging / csv_name),
                                            (staging / csv_name).stat().st_size, len(rows))
            files[parquet_name] = PublishedFile(spec.name, parquet_name, _sha256(staging / parquet_name),
                                                (staging / parquet_name).stat().st_size, len(rows))
            tables.append(table)
        package = Package(resources=resources, basepath=str(staging))
        package.infer(stats=True)  # each file's hash, bytes and rows: the manifest a portal compares
        descriptors = package.to_descriptor()["resources"]
        for descriptor in descriptors:
            if descriptor.get("type") == "file":
                descriptor.pop("encoding", None)
        package = Package.from_descriptor(_package_descriptor(context, descriptors, notes), basepath=str(staging))
        package.to_json(str(staging / "datapackage.json"))
        (staging / "dcat.jsonld").write_text(
            json.dumps(_dcat(context, tables, files), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for name in ("datapackage.json", "dcat.jsonld"):
            files[name] = PublishedFile("package", name, _sha256(staging / name), (staging / name).stat().st_size,
                                        None)
        for name in files:
            (staging / name).chmod(0o644)  # public files (frictionless writes through a private temporary file)
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PublishedPackage(out, context.as_of, list(files.values()), notes)
