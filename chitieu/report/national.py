"""The national view of a section that lists units: above THRESHOLD units (a country's 3,321 communes), the province
line, a summary, the worst and best ranked, a chart of CHART_CAP units at most, and every unit in one searchable,
sortable table, instead of one row or bar per unit. Rendered by a Jinja2 template (autoescape on); the table's search
and sort are a small inline script (templates/unit_list.js): nothing is loaded from elsewhere."""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CHART_CAP", "RANKED", "THRESHOLD", "Column", "Ranking", "UnitRow", "is_national", "quartiles",
           "render_unit_list", "script"]

THRESHOLD = 40     # a section listing more units than this shows the national view
RANKED = 10        # units in each of the worst and best lists
CHART_CAP = 20     # units a chart draws at most in the national view (the province line besides)

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def is_national(units: int) -> bool:
    """Whether a section listing `units` units shows the national view."""
    return units > THRESHOLD


@dataclass
class Column:
    """A column of the full table; numeric columns sort by each cell's value, the others by their text."""

    label: str
    numeric: bool = False


@dataclass
class UnitRow:
    """One line of the full table: the unit's name and code and its cells as (text shown, value sorted by); the
    first two cells are what the search box matches (the unit's name and code)."""

    name: str
    code: str
    cells: list[tuple[str, float | None]] = field(default_factory=list)


@dataclass
class Ranking:
    """A ranked list: its title, kind (`worst` or `best`) and items (unit name, code, value shown)."""

    title: str
    kind: str
    items: list[tuple[str, str, str]]


@functools.cache
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, trim_blocks=False,
                              undefined=jinja2.StrictUndefined)


@functools.cache
def script() -> str:
    """The inline script of the full tables: search (ignoring case and diacritics) and sort by any column."""
    return (_TEMPLATES / "unit_list.js").read_text(encoding="utf-8")


def quartiles(values: list[float]) -> tuple[float, float, float, float, float] | None:
    """Lowest, first quartile, median, third quartile, highest (None without values)."""
    if not values:
        return None
    if len(values) == 1:
        return (values[0],) * 5
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return min(values), q1, q2, q3, max(values)


def render_unit_list(anchor: str, *, province_label: str, province: list[tuple[str, str]], columns: list[Column],
                     rows: list[UnitRow], table_title: str, summary_head: list[str] | None = None,
                     summary_rows: list[list[str]] | None = None, summary: list[str] | None = None,
                     rankings: list[Ranking] | None = None, chart: str = "", chart_title: str = "") -> str:
    """The national view's HTML (every piece of text escaped by the template; `chart` is trusted SVG)."""
    from markupsafe import Markup

    return _environment().get_template("unit_list.html").render(
        anchor=anchor, province_label=province_label, province=province, columns=columns, rows=rows,
        table_title=table_title, summary_head=summary_head or [], summary_rows=summary_rows or [],
        summary=summary or [], rankings=rankings or [], chart=Markup(chart), chart_title=chart_title)
