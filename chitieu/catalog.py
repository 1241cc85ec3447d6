"""The catalog: units, indicators, targets and milestones read from CSV, checked, and upserted.

Grain and columns of each file are documented in catalog/README.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from chitieu.config import FEEDS, MONTHLY_FEEDS
from chitieu.errors import CatalogError
from chitieu.vocabulary import PROJECT_GROUPS
from chitieu.warehouse import read_sql, sql_statements

__all__ = ["Catalog", "load_catalog", "read_catalog", "warehouse_province"]

_UNIT_CODE = re.compile(r"^[A-Z0-9_]{2,32}$")
_CODE = re.compile(r"^[A-Za-z0-9_]{2,64}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


@dataclass(frozen=True)
class Catalog:
    """The four catalog tables as lists of typed dicts, already validated."""

    units: list[dict]
    indicators: list[dict]
    targets: list[dict]
    milestones: list[dict]
    documents: list[dict] = field(default_factory=list)  # source documents, cited by number, date and title

    @property
    def province(self) -> dict:
        """The province itself: the catalog's one unit of level `province`, the roll-up code in every view."""
        return next(u for u in self.units if u["level"] == "province")

    @property
    def unit_codes(self) -> set[str]:
        return {u["unit_code"] for u in self.units}

    @property
    def submitter_codes(self) -> list[str]:
        """Units allowed to send feeds: every active unit except the province roll-up."""
        return sorted(u["unit_code"] for u in self.units if u["is_active"] and u["level"] != "province")

    @property
    def indicator_codes(self) -> set[str]:
        return {i["indicator_code"] for i in self.indicators}

    def indicator(self, code: str) -> dict:
        return next(i for i in self.indicators if i["indicator_code"] == code)


# --- reading and checking -------------------------------------------------------------


class _Reader:
    """Reads one CSV, giving each cell's checker the file, line and column to blame."""

    def __init__(self, path: Path, required: list[str]):
        self.name = path.name
        if not path.exists():
            raise CatalogError(str(path), None, None, "file not found")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CatalogError(self.name, None, None, f"not UTF-8 text ({exc.reason})") from None
        rows = list(csv.reader(text.splitlines()))
        if not rows:
            raise CatalogError(self.name, 1, None, "empty file: a header row is required")
        self.header = [h.strip() for h in rows[0]]
        missing = [c for c in required if c not in self.header]
        if missing:
            raise CatalogError(self.name, 1, missing[0], "required column missing from the header")
        self.rows: list[tuple[int, dict[str, str]]] = []
        for line, cells in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(self.header):
                raise CatalogError(self.name, line, None,
                                   f"{len(cells)} fields where the header has {len(self.header)}")
            self.rows.append((line, {h: c.strip() for h, c in zip(self.header, cells, strict=True)}))

    def fail(self, line: int, column: str, problem: str) -> CatalogError:
        return CatalogError(self.name, line, column, problem)

    def text(self, line: int, row: dict, column: str, *, required: bool = True) -> str | None:
        value = row.get(column, "")
        if not value:
            if required:
                raise self.fail(line, column, "value is required")
            return None
        return value

    def choice(self, line: int, row: dict, column: str, allowed: tuple[str, ...]) -> str:
        value = self.text(line, row, column)
        if value not in allowed:
            raise self.fail(line, column, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def number(self, line: int, row: dict, column: str, *, required: bool = True) -> float | None:
        value = self.text(line, row, column, required=required)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise self.fail(line, column, f"{value!r} is not a number (use '.' for decimals)") from None
        if not math.isfinite(number):
            raise self.fail(line, column, f"{value!r} is not a finite number")
        return number

    def boolean(self, line: int, row: dict, column: str) -> bool:
        value = (row.get(column) or "true").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise self.fail(line, column, f"{value!r} is not true/false")
        return value in ("true", "1", "yes")

    def unique(self, column: str) -> None:
        seen: dict[str, int] = {}
        for line, row in self.rows:
            if row[column] in seen:
                raise self.fail(line, column, f"{row[column]!r} repeats line {seen[row[column]]}")
            seen[row[column]] = line


def _read_units(path: Path) -> list[dict]:
    r = _Reader(path, ["unit_code", "name_vi", "level", "parent_code", "contact_email", "active"])
    r.unique("unit_code")
    units = []
    for line, row in r.rows:
        code = r.text(line, row, "unit_code")
        if not _UNIT_CODE.match(code):
            raise r.fail(line, "unit_code", f"{code!r} does not match [A-Z0-9_]{{2,32}}")
        level = r.choice(line, row, "level", ("province", "department", "center", "commune"))
        email = r.text(line, row, "contact_email", required=level != "province")
        if email and not _EMAIL.match(email):
            raise r.fail(line, "contact_email", f"{email!r} is not an e-mail address")
        feeds = (row.get("monthly_feeds") or "").split()
        bad = [f for f in feeds if f not in MONTHLY_FEEDS]
        if bad:
            raise r.fail(line, "monthly_feeds", f"{bad[0]!r} is not a monthly feed ({', '.join(MONTHLY_FEEDS)})")
        units.append({
            "unit_code": code,
            "name_vi": r.text(line, row, "name_vi"),
            "name_en": r.text(line, row, "name_en", required=False),
            "level": level,
            "parent_code": r.text(line, row, "parent_code", required=False),
            "contact_email": email,
            "is_active": r.boolean(line, row, "active"),
            "monthly_feeds": feeds,
        })
    codes = {u["unit_code"] for u in units}
    for (line, _), unit in zip(r.rows, units, strict=True):
        if unit["parent_code"] and unit["parent_code"] not in codes:
            raise r.fail(line, "parent_code", f"{unit['parent_code']!r} is not a unit of this file")
    provinces = [(line, unit["unit_code"]) for (line, _), unit in zip(r.rows, units, strict=True)
                 if unit["level"] == "province"]
    if not provinces:
        raise CatalogError(r.name, None, "level", "no unit of level 'province': the province itself (the roll-up "
                                                  "code of every view) must be one row of this file")
    if len(provinces) > 1:
        (_, first), (line, second) = provinces[0], provinces[1]
        raise r.fail(line, "level", f"{second!r} is a second unit of level 'province' (the first is {first!r}): "
                                    "a catalog describes one province")
    return units


def _read_indicators(path: Path) -> list[dict]:
    r = _Reader(path, ["indicator_code", "name_vi", "periodicity", "aggregation", "direction", "source_feed"])
    r.unique("indicator_code")
    out = []
    for line, row in r.rows:
        code = r.text(line, row, "indicator_code")
        if not _CODE.match(code):
            raise r.fail(line, "indicator_code", f"{code!r} is not a code ([A-Za-z0-9_], 2-64 characters)")
        lo, hi = r.number(line, row, "min_value", required=False), r.number(line, row, "max_value", required=False)
        if lo is not None and hi is not None and lo > hi:
            raise r.fail(line, "max_value", f"max_value {hi} is below min_value {lo}")
        out.append({
            "indicator_code": code,
            "name_vi": r.text(line, row, "name_vi"),
            "name_en": r.text(line, row, "name_en", required=False),
            "unit_of_measure": r.text(line, row, "unit_of_measure", required=False),
            "unit_of_measure_vi": r.text(line, row, "unit_of_measure_vi", required=False),
            "periodicity": r.choice(line, row, "periodicity", ("month", "quarter", "year")),
            "aggregation": r.choice(line, row, "aggregation", ("sum", "last")),
            "min_value": lo,
            "max_value": hi,
            "direction": r.choice(line, row, "direction", ("up", "down")),
            "source_feed": r.choice(line, row, "source_feed", FEEDS),
        })
    return out


def _read_targets(path: Path, units: set[str], indicators: set[str], seen: dict[tuple, str]) -> list[dict]:
    """One targets file; `seen` maps (target_code, year, effective_from) to where it was first defined, across files.

    An adjusted target is a further row of the same code and year with `effective_from` (YYYY-MM-DD, in the year)
    and `decision_ref` (the decision that set it); a row without them is in force from 1 January."""
    r = _Reader(path, ["target_code", "indicator_code", "unit_code", "year", "comparator", "target_value",
                       "source_doc", "source_clause"])
    out = []
    for line, row in r.rows:
        indicator = r.text(line, row, "indicator_code")
        if indicator not in indicators:
            raise r.fail(line, "indicator_code", f"{indicator!r} is not in indicators.csv")
        unit = r.text(line, row, "unit_code")
        if unit not in units:
            raise r.fail(line, "unit_code", f"{unit!r} is not in units.csv")
        year = r.number(line, row, "year")
        if year != int(year) or not 2000 <= year <= 2100:
            raise r.fail(line, "year", f"{row['year']!r} is not a year")
        code = r.text(line, row, "target_code")
        effective = r.text(line, row, "effective_from", required=False)
        try:
            effective_from = dt.date.fromisoformat(effective) if effective else dt.date(int(year), 1, 1)
        except ValueError:
            raise r.fail(line, "effective_from", f"{effective!r} is not a date (YYYY-MM-DD)") from None
        if effective_from.year != int(year):
            raise r.fail(line, "effective_from", f"{effective} is not in the target's year {int(year)}")
        decision = r.text(line, row, "decision_ref", required=False)
        if effective and not decision:
            raise r.fail(line, "decision_ref", "an adjusted target (effective_from) must cite its decision")
        key = (code, int(year), effective_from)
        if key in seen:
            raise r.fail(line, "target_code", f"{code!r} repeats {seen[key]} for year {int(year)} "
                                              f"from {effective_from} (a target code is unique within its year "
                                              "and effective date)")
        seen[key] = f"{r.name} line {line}"
        deadline = r.text(line, row, "deadline", required=False)
        if deadline and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", deadline):
            raise r.fail(line, "deadline", f"{deadline!r} is not YYYY-MM")
        out.append({
            "target_code": code,
            "indicator_code": indicator,
            "unit_code": unit,
            "year": int(year),
            "comparator": r.choice(line, row, "comparator", (">", ">=", "=", "<=", "<")),
            "target_value": r.number(line, row, "target_value"),
            "unit_of_measure": r.text(line, row, "unit_of_measure", required=False),
            "deadline": deadline,
            "owner": r.text(line, row, "owner", required=False),
            "description_vi": r.text(line, row, "description_vi", required=False),
            "description_en": r.text(line, row, "description_en", required=False),
            "source_doc": r.text(line, row, "source_doc"),
            "source_clause": r.text(line, row, "source_clause"),
            "effective_from": effective_from,
            "decision_ref": decision,
        })
    return out


def _read_milestones(path: Path) -> list[dict]:
    r = _Reader(path, ["project_group", "milestone_mmdd", "required_pct"])
    out = []
    for line, row in r.rows:
        mmdd = r.text(line, row, "milestone_mmdd")
        if not re.match(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", mmdd):
            raise r.fail(line, "milestone_mmdd", f"{mmdd!r} is not MM-DD")
        pct = r.number(line, row, "required_pct")
        if not 0 <= pct <= 100:
            raise r.fail(line, "required_pct", f"{pct} is not a percentage (0-100)")
        out.append({
            "project_group": r.choice(line, row, "project_group", PROJECT_GROUPS),
            "milestone_mmdd": mmdd,
            "required_pct": pct,
            "source_doc": r.text(line, row, "source_doc", required=False),
            "source_clause": r.text(line, row, "source_clause", required=False),
        })
    return out


def _read_documents(path: Path, cited: dict[str, str]) -> list[dict]:
    """documents.csv: each source document as printed (type, number, date, issuer, title); every document the
    targets and milestones cite must be there."""
    r = _Reader(path, ["source_doc", "doc_type", "title"])
    r.unique("source_doc")
    out = [{"source_doc": r.text(line, row, "source_doc"), "doc_type": r.text(line, row, "doc_type"),
            "number": r.text(line, row, "number", required=False),
            "issued": r.text(line, row, "issued", required=False),
            "issuer": r.text(line, row, "issuer", required=False), "title": r.text(line, row, "title"),
            "note": r.text(line, row, "note", required=False)} for line, row in r.rows]
    listed = {d["source_doc"] for d in out}
    for doc, where in sorted(cited.items()):
        if doc not in listed:
            raise CatalogError(r.name, None, "source_doc", f"{doc!r}, cited by {where}, is not listed")
    return out


def read_catalog(folder: Path) -> Catalog:
    """Read and check the catalog folder; raise CatalogError naming file, line and column."""
    units = _read_units(folder / "units.csv")
    indicators = _read_indicators(folder / "indicators.csv")
    unit_codes, indicator_codes = {u["unit_code"] for u in units}, {i["indicator_code"] for i in indicators}
    seen: dict[tuple, str] = {}
    if not any(folder.glob("targets*.csv")):
        raise CatalogError(str(folder / "targets*.csv"), None, None,
                           "no targets file (e.g. targets_<year>.csv, one row per target and year)")
    targets = [target for path in sorted(folder.glob("targets*.csv"))
               for target in _read_targets(path, unit_codes, indicator_codes, seen)]
    milestones_path = folder / "milestones.csv"
    milestones = _read_milestones(milestones_path) if milestones_path.exists() else []
    documents_path = folder / "documents.csv"
    cited = {m["source_doc"]: f"{milestones_path.name}" for m in milestones if m["source_doc"]}
    cited |= {t["source_doc"]: f"target {t['target_code']}" for t in targets}
    documents = _read_documents(documents_path, cited) if documents_path.exists() else []
    return Catalog(units, indicators, targets, milestones, documents)


def warehouse_province(conn: sa.Connection) -> dict:
    """The province as `chitieu init` loaded it (the one active unit of level `province`): unit_code, name_vi,
    name_en, contact_email."""
    rows = conn.execute(sa.text(
        "select unit_code, name_vi, name_en, contact_email from core.unit"
        " where level = 'province' and is_active order by unit_code")).mappings().all()
    if len(rows) != 1:
        raise CatalogError("core.unit", None, "level",
                           f"{len(rows)} units of level 'province' in the warehouse "
                           f"({', '.join(r['unit_code'] for r in rows) or 'none'}): "
                           "run `chitieu init` with a catalog naming exactly one province")
    return dict(rows[0])


# --- loading --------------------------------------------------------------------------


_READ_BY_THE_REPORT = ("unit_of_measure_vi",)  # catalog columns the report reads from the catalog itself


def load_catalog(conn: sa.Connection, catalog: Catalog) -> dict[str, int]:
    """Upsert the catalog into core.*; return how many rows each table changed (0 when unchanged)."""
    changed: dict[str, int] = {}
    indicators = [{k: v for k, v in i.items() if k not in _READ_BY_THE_REPORT} for i in catalog.indicators]
    for table, rows in (("unit", catalog.units), ("indicator", indicators),
                        ("target", catalog.targets), ("milestone", catalog.milestones)):
        conn.execute(sa.text(f"create temp table incoming_{table} (like core.{table} including defaults)"
                             " on commit drop"))
        if rows:
            columns = list(rows[0])
            conn.execute(sa.text(f"insert into incoming_{table} ({', '.join(columns)}) values "
                                 f"({', '.join(':' + c for c in columns)})"), rows)
        statements = sql_statements(read_sql(f"catalog/upsert_{table}.sql"))
        changed[table] = sum(conn.execute(sa.text(s)).rowcount for s in statements)
    return changed


def unit_of_measure_vi(indicator: dict | None, unit_of_measure: str | None) -> str | None:
    """A target's unit of measure in Vietnamese (indicators.csv unit_of_measure_vi of its `indicator`), else as the
    target has it (`unit_of_measure`, as the warehouse holds it)."""
    indicator = indicator or {}
    if indicator.get("unit_of_measure_vi") and indicator.get("unit_of_measure") == unit_of_measure:
        return indicator["unit_of_measure_vi"]
    return unit_of_measure
