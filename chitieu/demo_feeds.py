"""Deterministic generator of realistic demo feeds for every submitting unit of a catalog.

`build_feeds` returns the files (bytes, landing time, wave) without touching the disk, so the same seed
gives the same bytes; `write_feeds` drops one wave of them into an inbox with their landing times as
modification times (received_at is the file's mtime). Wave 1 is what landed before the first ingest
pass; wave 2 lands after it: a late correction, a fixed resend of a rejected file, and a disbursement
snapshot whose cumulative figure went down (a warning).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import json
import math
import os
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from chitieu.catalog import Catalog
from chitieu.feeds import feed_spec
from chitieu.local_time import LOCAL_TZ
from chitieu.vocabulary import PROJECT_GROUP_VI, PROJECT_GROUPS, vn_number

__all__ = ["DemoFile", "build_feeds", "write_feeds"]

STYLES = ("csv_vi", "csv_en", "xlsx", "json")
_SEASON = {1: 1.12, 2: 0.72, 3: 1.0, 4: 0.98, 5: 1.02, 6: 1.05, 7: 0.97, 8: 0.95, 9: 1.0, 10: 1.04, 11: 1.06,
           12: 1.15}
_COUNT_UNITS = ("sites", "units", "products", "clusters", "arrivals")
_XLSX_EPOCH = (1980, 1, 1, 0, 0, 0)
_GROUPS_VI = PROJECT_GROUP_VI


@dataclass(frozen=True)
class DemoFile:
    """One generated feed file: where it lands, its bytes, when it landed and in which ingest wave."""

    rel_path: str
    data: bytes
    landed_at: dt.datetime
    wave: int = 1
    note: str = ""


@dataclass
class _Table:
    """Rows of one feed file before rendering, with canonical column names."""

    unit: str
    feed: str
    name: str
    title: str
    rows: list[dict]
    landed_at: dt.datetime
    wave: int = 1
    note: str = ""
    style: str | None = None
    columns: list[str] = field(default_factory=list)


# --- small helpers ----------------------------------------------------------------------------


def _rng(seed: int, *parts: object) -> random.Random:
    """An independent random stream per (seed, unit, feed, ...) so one unit's data never shifts another's."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    """A time during office hours (Vietnam time) on `day`."""
    return dt.datetime(day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59), rng.randint(0, 59),
                       tzinfo=LOCAL_TZ)


def _landing(after: dt.date, rng: random.Random, late_share: float) -> dt.date:
    """When a report on a period ending `after` lands: mostly by the 5th of the next month, some late."""
    if rng.random() < late_share:
        return after + dt.timedelta(days=rng.randint(6, 16))
    return after + dt.timedelta(days=rng.randint(1, 4))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _interp(points: list[tuple[float, float]], t: float) -> float:
    """Piecewise-linear value at t of a curve given by (t, value) points."""
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1
    return points[-1][1]


def _vn_number(value: object) -> str:
    """Vietnamese number text: '.' groups thousands, ',' marks decimals (1.795; 23,49)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    return vn_number(value, 2)


def _plain_number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)


# --- rendering one table in a unit's style ----------------------------------------------------------


def _cell_text(value: object, vietnamese: bool) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y") if vietnamese else value.isoformat()
    return _vn_number(value) if vietnamese else _plain_number(value)


def _render_csv(table: _Table, vietnamese: bool) -> bytes:
    spec = feed_spec(table.feed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if vietnamese else ",", lineterminator="\n")
    writer.writerow([spec.label(c) if vietnamese else c for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell_text(_GROUPS_VI.get(row[c], row[c]) if vietnamese and c == "project_group"
                                    else row.get(c), vietnamese) for c in table.columns])
    text = buffer.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + text) if vietnamese else text


def _render_json(table: _Table) -> bytes:
    rows = [{c: (row.get(c).isoformat() if isinstance(row.get(c), dt.date) else row.get(c)) for c in table.columns}
            for row in table.rows]
    return json.dumps({"rows": rows}, ensure_ascii=False, indent=1).encode("utf-8")


def _stable_zip(data: bytes) -> bytes:
    """Rewrite a workbook with fixed timestamps so the same rows always give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>1980-01-01T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=_XLSX_EPOCH), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _render_xlsx(table: _Table) -> bytes:
    import openpyxl  # imported lazily: only the demo writes workbooks

    spec = feed_spec(table.feed)
    book = openpyxl.Workbook()
    book.properties.creator = "chitieu demo"
    book.properties.created = dt.datetime(*_XLSX_EPOCH)
    sheet = book.active
    sheet.title = "Bao cao"
    sheet.append(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"])
    sheet.append([table.title])
    sheet.append([])
    sheet.append([spec.label(c) for c in table.columns])
    for row in table.rows:
        sheet.append([_GROUPS_VI.get(row.get(c), row.get(c)) if c == "project_group" else row.get(c)
                      for c in table.columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return _stable_zip(buffer.getvalue())


def _render(table: _Table) -> DemoFile:
    style = table.style or "csv_en"
    if style == "xlsx":
        data, ext = _render_xlsx(table), "xlsx"
    elif style == "json":
        data, ext = _render_json(table), "json"
    else:
        data, ext = _render_csv(table, vietnamese=style == "csv_vi"), "csv"
    rel = f"{table.unit}/{table.feed}/{table.name}.{ext}"
    return DemoFile(rel, data, table.landed_at, table.wave, table.note)


# --- the generator ------------------------------------------------------------------------------------


class _Generator:
    """Builds every unit's tables for January up to the as-of month of the as-of year."""

    def __init__(self, catalog: Catalog, as_of: dt.date, seed: int):
        self.catalog, self.as_of, self.seed = catalog, as_of, seed
        self.year = as_of.year
        self.deadline = dt.datetime(as_of.year, as_of.month, as_of.day, 23, 0, tzinfo=LOCAL_TZ)
        self.units = {u["unit_code"]: u for u in catalog.units if u["unit_code"] in catalog.submitter_codes}
        self.tables: list[_Table] = []
        self.closed_months = [m for m in range(1, as_of.month) if _month_end(self.year, m) < as_of]

    def style(self, unit: str) -> str:
        level = self.units[unit]["level"]
        if level in ("center", "department"):
            return "xlsx" if _rng(self.seed, unit, "style").random() < 0.6 else "csv_vi"
        return _rng(self.seed, unit, "style").choice(STYLES)

    def unit_name(self, unit: str) -> str:
        return self.units[unit]["name_vi"].upper()

    def add(self, table: _Table) -> None:
        """Keep a table if it landed by the as-of date (later files have not arrived yet)."""
        if table.landed_at <= self.deadline:
            table.columns = table.columns or feed_spec(table.feed).names
            table.style = table.style or self.style(table.unit)
            self.tables.append(table)

    def late_share(self, unit: str) -> float:
        """Most units report on time; a few are habitually late."""
        return 0.45 if _rng(self.seed, unit, "habit").random() < 0.12 else 0.06

    # --- dossier ---------------------------------------------------------------------------------

    def dossier(self) -> None:
        for unit in sorted(u for u, row in self.units.items() if "dossier" in row["monthly_feeds"]):
            rng = _rng(self.seed, unit, "dossier")
            profile = self._dossier_profile(unit, rng)
            for month in self.closed_months:
                if rng.random() < 0.02:
                    continue  # a month the unit simply never sent
                row = self._dossier_row(unit, month, profile, rng)
                landed = _at(_landing(_month_end(self.year, month), rng, self.late_share(unit)), rng)
                self.add(_Table(unit, "dossier", f"bao_cao_ho_so_TTHC_{self.year}-{month:02d}",
                                f"BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ TTHC THÁNG {month:02d}/{self.year} — "
                                f"{self.unit_name(unit)}", [row], landed))

    def _dossier_profile(self, unit: str, rng: random.Random) -> dict:
        level = self.units[unit]["level"]
        if level == "center":
            return {"volume": rng.uniform(9000, 12000), "online": 0.957, "on_time": 0.9885, "sat": 0.967}
        if level == "department":
            return {"volume": rng.uniform(150, 600), "online": rng.uniform(0.9, 0.985),
                    "on_time": rng.uniform(0.975, 0.998), "sat": rng.uniform(0.9, 0.98)}
        ward = unit.startswith("PHUONG")
        return {"volume": rng.uniform(700, 1500) if ward else rng.uniform(220, 800),
                "online": rng.uniform(0.8, 0.96), "on_time": rng.uniform(0.955, 0.997), "sat": rng.uniform(0.86, 0.97)}

    def _dossier_row(self, unit: str, month: int, p: dict, rng: random.Random) -> dict:
        total = max(20, round(p["volume"] * _SEASON[month] * rng.uniform(0.9, 1.1)))
        online = round(total * _clamp(p["online"] + 0.002 * (month - 1) + rng.gauss(0, 0.006), 0, 1))
        resolved = round(total * rng.uniform(0.93, 1.02))
        on_time = round(resolved * _clamp(p["on_time"] + rng.gauss(0, 0.002), 0, 1))
        surveyed = round(resolved * rng.uniform(0.3, 0.6))
        satisfied = round(surveyed * _clamp(p["sat"] + rng.gauss(0, 0.008), 0, 1))
        petitions = rng.randint(0, max(3, round(total / 250)))
        late_petitions = 1 if petitions and rng.random() < 0.25 else 0
        return {"unit_code": unit, "period": f"{self.year}-{month:02d}", "received_total": total,
                "received_online": online, "resolved_total": resolved, "resolved_on_time": on_time,
                "surveyed": surveyed, "satisfied": satisfied,
                "e_results_issued": round(resolved * rng.uniform(0.93, 0.995)),
                "petitions_received": petitions, "petitions_on_time": petitions - late_petitions}

    # --- admin_ops (with the previous year's baseline) ----------------------------------------------------------

    def admin_ops(self) -> None:
        for unit in sorted(u for u, row in self.units.items() if "admin_ops" in row["monthly_feeds"]):
            rng = _rng(self.seed, unit, "admin_ops")
            base = rng.uniform(360, 440)
            baseline = {m: round(base * _SEASON[m] * rng.uniform(0.92, 1.08)) for m in range(1, 13)}
            rows = [self._admin_row(unit, f"{self.year - 1}-{m:02d}", baseline[m], rng.uniform(0.42, 0.55), rng)
                    for m in range(1, 13)]
            self.add(_Table(unit, "admin_ops", f"so_lieu_van_ban_hoi_nghi_nam_{self.year - 1}",
                            f"SỐ LIỆU VĂN BẢN, HỘI NGHỊ NĂM {self.year - 1} (NĂM CƠ SỞ)", rows,
                            _at(dt.date(self.year, 1, 8), rng), style="xlsx"))
            cut = rng.uniform(0.8, 0.9)
            for month in self.closed_months:
                docs = round(baseline[month] * cut * rng.uniform(0.95, 1.05))
                share = _clamp(0.55 + 0.012 * month + rng.gauss(0, 0.03), 0.3, 0.9)
                landed = _at(_landing(_month_end(self.year, month), rng, self.late_share(unit)), rng)
                self.add(_Table(unit, "admin_ops", f"van_ban_hoi_nghi_{self.year}-{month:02d}",
                                f"BÁO CÁO VĂN BẢN, HỘI NGHỊ THÁNG {month:02d}/{self.year}",
                                [self._admin_row(unit, f"{self.year}-{month:02d}", docs, share, rng)], landed))

    @staticmethod
    def _admin_row(unit: str, period: str, docs: int, online_share: float, rng: random.Random) -> dict:
        conferences = rng.randint(8, 15)
        online = round(conferences * online_share)
        return {"unit_code": unit, "period": period, "documents_issued": docs,
                "conferences_in_person": conferences - online, "conferences_online": online}

    # --- disbursement ------------------------------------------------------------------------------

    _CURVES = {
        "completed": [(0, 0.35), (0.25, 0.7), (0.5, 1.0), (1, 1.0)],
        "transitional": [(0, 0.02), (0.25, 0.14), (0.5, 0.31), (0.75, 0.62), (1, 1.0)],
        "new": [(0, 0), (0.3, 0), (0.5, 0.12), (0.75, 0.42), (1, 0.96)],
        "preparation": [(0, 0), (1, 0.25)],
    }
    _PROJECTS = ("Đường giao thông nông thôn thôn {v}", "Trường mầm non {v}", "Nhà văn hóa thôn {v}",
                 "Kè chống sạt lở bờ suối {v}", "Cải tạo chợ trung tâm {v}", "Trạm y tế {v}",
                 "Hệ thống cấp nước sinh hoạt {v}", "Công trình thủy lợi {v}", "Trụ sở làm việc {v}",
                 "Cầu treo dân sinh {v}")
    _PLACES = ("Bản Xâm", "Khòn Cuổi", "Nà Mò", "Pá Phiêng", "Còn Quan", "Đồng Bụt", "Khòn Pinh", "Nà Cáy",
               "Pò Mã", "Bó Củng", "Kéo Coóc", "Lũng Vài")

    def projects(self, unit: str) -> list[dict]:
        rng = _rng(self.seed, unit, "projects")
        level = self.units[unit]["level"]
        count = rng.randint(5, 7) if level != "commune" else rng.randint(3, 5)
        groups = ["transitional", "completed", "new"] + rng.choices(
            list(PROJECT_GROUPS), weights=[2, 4, 3, 1], k=count - 3)
        short = unit.split("_", 1)[-1][:6]
        out = []
        for n, group in enumerate(groups, start=1):
            scale = (50, 300) if level != "commune" else (3, 40)
            plan = rng.randint(*scale) * 500_000_000
            out.append({"code": f"DA-{short}-{n:02d}", "group": group, "plan": plan, "pace": self._pace(group, rng),
                        "name": rng.choice(self._PROJECTS).format(v=rng.choice(self._PLACES))})
        return out

    @staticmethod
    def _pace(group: str, rng: random.Random) -> float:
        """How fast a project disburses relative to its group's usual curve; some fall behind."""
        if group == "completed":
            return 1.05 if rng.random() < 0.7 else rng.uniform(0.85, 0.98)
        return rng.uniform(0.62, 1.12) if group == "transitional" else rng.uniform(0.5, 1.1)

    def _disbursed(self, project: dict, day: dt.date) -> int:
        t = (day - dt.date(day.year, 1, 1)).days / (366 if calendar.isleap(day.year) else 365)
        share = _clamp(_interp(self._CURVES[project["group"]], t) * project["pace"], 0, 1)
        return int(project["plan"] * share // 1_000_000 * 1_000_000)

    def disbursement_dates(self) -> list[tuple[dt.date, dt.date]]:
        """(as_of_date, landing date) of each monthly snapshot; the as-of month's is a few days old."""
        out = [(_month_end(self.year, m), _month_end(self.year, m)) for m in self.closed_months]
        current = self.as_of - dt.timedelta(days=3)
        if current.month == self.as_of.month and current.year == self.year:
            out.append((current, current))
        return out

    def disbursement(self) -> None:
        for unit in sorted(u for u, row in self.units.items() if "disbursement" in row["monthly_feeds"]):
            rng = _rng(self.seed, unit, "disbursement")
            projects = self.projects(unit)
            for as_of_date, period_end in self.disbursement_dates():
                rows = [self._disbursement_row(unit, p, as_of_date) for p in projects]
                if as_of_date.month == self.as_of.month:
                    landed = _at(self.as_of - dt.timedelta(days=2), rng)
                else:
                    landed = _at(_landing(period_end, rng, self.late_share(unit)), rng)
                self.add(_Table(unit, "disbursement", f"giai_ngan_von_dau_tu_cong_{as_of_date.isoformat()}",
                                f"BÁO CÁO GIẢI NGÂN VỐN ĐẦU TƯ CÔNG ĐẾN NGÀY {as_of_date:%d/%m/%Y}", rows, landed))

    def _disbursement_row(self, unit: str, project: dict, day: dt.date) -> dict:
        return {"project_code": project["code"], "project_name": project["name"], "unit_code": unit,
                "project_group": project["group"], "capital_plan_vnd": project["plan"],
                "disbursed_vnd": self._disbursed(project, day), "as_of_date": day}

    # --- tasks ------------------------------------------------------------------------------------

    _TASKS = ("Tham mưu báo cáo kết quả {x}", "Xây dựng kế hoạch triển khai {x}", "Tổ chức kiểm tra {x}",
              "Rà soát, đề xuất sửa đổi quy định về {x}", "Tổng hợp ý kiến góp ý dự thảo {x}")
    _TOPICS = ("cải cách hành chính", "chuyển đổi số", "giải ngân vốn đầu tư công", "phát triển du lịch",
               "an toàn thực phẩm", "phòng chống thiên tai", "quản lý đất đai", "xây dựng nông thôn mới")

    def tasks(self) -> None:
        units = sorted(u for u, row in self.units.items() if row["level"] == "department")
        for unit in units:
            rng = _rng(self.seed, unit, "tasks")
            on_time = 0.965 if unit == "VP_UBND" else rng.uniform(0.85, 0.97)
            tasks = []
            for month in range(1, self.as_of.month + 1):
                for _ in range(rng.randint(7, 12) if unit == "VP_UBND" else rng.randint(2, 5)):
                    assigned = dt.date(self.year, month, rng.randint(1, 28))
                    due = assigned + dt.timedelta(days=rng.choice((15, 30, 30, 45, 60, 90)))
                    span = (due - assigned).days
                    done = (assigned + dt.timedelta(days=round(span * rng.uniform(0.3, 1.0))) if rng.random() < on_time
                            else due + dt.timedelta(days=rng.randint(3, 25)))
                    tasks.append({"task_code": f"NV-{self.year}-{len(tasks) + 1:03d}", "unit_code": unit,
                                  "title": rng.choice(self._TASKS).format(x=rng.choice(self._TOPICS)),
                                  "assigned_date": assigned, "due_date": due, "done": done})
            registers = [_month_end(self.year, m) for m in (3, 6, 9) if _month_end(self.year, m) < self.as_of]
            registers.append(self.as_of - dt.timedelta(days=1))
            for day in registers:
                rows = [{**{k: v for k, v in t.items() if k != "done"},
                         "completed_date": t["done"] if t["done"] <= day else None}
                        for t in tasks if t["assigned_date"] <= day]
                landed = _at(min(day + dt.timedelta(days=rng.randint(1, 4)), self.as_of), rng)
                if rows:
                    self.add(_Table(unit, "tasks", f"so_theo_doi_nhiem_vu_{day.isoformat()}",
                                    f"SỔ THEO DÕI NHIỆM VỤ UBND TỈNH GIAO (ĐẾN NGÀY {day:%d/%m/%Y})", rows, landed))

    # --- indicator ------------------------------------------------------------------------------------

    def _periods(self, periodicity: str) -> list[tuple[str, dt.date]]:
        """(period, end date) of each period of the year that has closed by the as-of date."""
        if periodicity == "month":
            return [(f"{self.year}-{m:02d}", _month_end(self.year, m)) for m in self.closed_months]
        if periodicity == "quarter":
            return [(f"{self.year}-Q{q}", _month_end(self.year, 3 * q)) for q in range(1, 5)
                    if _month_end(self.year, 3 * q) < self.as_of]
        return [(str(self.year), self.as_of - dt.timedelta(days=20))]  # a preliminary estimate for the year

    def indicator(self) -> None:
        by_file: dict[tuple[str, str], list[dict]] = {}
        landing: dict[tuple[str, str], dt.date] = {}
        for target in sorted(self.catalog.targets, key=lambda t: t["target_code"]):
            ind = self.catalog.indicator(target["indicator_code"])
            unit = target["unit_code"]
            if ind["source_feed"] != "indicator" or unit not in self.units:
                continue
            rng = _rng(self.seed, target["target_code"], "indicator")
            periods = self._periods(ind["periodicity"])
            no_data = 0.5 if ind["periodicity"] == "year" else 0.08
            if not periods or rng.random() < no_data:
                continue
            met = rng.random() < (0.9 if target["target_code"].startswith("VP") else 0.62)
            values = _series(ind, target, len(periods), met, rng)
            for (period, end), value in zip(periods, values, strict=True):
                key = (unit, period if ind["periodicity"] != "year" else f"{period}_uoc_tinh")
                by_file.setdefault(key, []).append({"unit_code": unit, "indicator_code": ind["indicator_code"],
                                                    "period": period, "value": value})
                landing.setdefault(key, end)
        for (unit, period), rows in sorted(by_file.items()):
            rng = _rng(self.seed, unit, period, "indicator-landing")
            landed = _at(landing[(unit, period)] + dt.timedelta(days=rng.randint(3, 12)), rng)
            self.add(_Table(unit, "indicator", f"chi_tieu_{period}", f"BÁO CÁO CHỈ TIÊU KỲ {period}", rows, landed))


def _series(ind: dict, target: dict, n: int, met: bool, rng: random.Random) -> list[float | int]:
    """Period values whose year-to-date value meets (or misses) the target, within the indicator's range."""
    goal, comparator = float(target["target_value"]), target["comparator"]
    lo = ind["min_value"] if ind["min_value"] is not None else -1e12
    hi = ind["max_value"] if ind["max_value"] is not None else 1e12
    whole = (ind["unit_of_measure"] or "") in _COUNT_UNITS
    down = comparator in ("<", "<=")
    if comparator == "=":
        final = goal if met else goal * rng.uniform(0.9, 0.995)
    elif met != down:  # above the goal
        final = goal * rng.uniform(1.02, 1.18) + (1 if whole else 0)
    else:
        final = goal * rng.uniform(0.72, 0.96)
    if met and comparator in (">", ">=") and hi <= goal:
        final = hi if comparator == ">=" else goal * 0.97  # the range leaves no room above: miss it
    final = _clamp(final, lo, hi)
    final = float(round(final)) if whole else round(final, 2)
    if whole and not met and comparator in (">", ">=", "=") and final >= goal:
        final = max(lo, goal - 1)
    if ind["aggregation"] == "sum":
        weights = [rng.uniform(0.6, 1.4) for _ in range(n)]
        step = 1 if whole else 100  # round each share down, so the last period's remainder is never negative
        parts = [math.floor(final * w / sum(weights) * step) / step for w in weights[:-1]]
        values = [*parts, round(final - sum(parts), 2)]
    else:
        start = final * (rng.uniform(0.85, 0.97) if final > 0 else 1.0)
        values = [round(start + (final - start) * (i + 1) / n, 2) for i in range(n)]
        values = [float(round(v)) if whole else v for v in values]
    return [int(v) if whole else v for v in values]


# --- deliberate problems: bad files, a warning, a late correction ------------------------------------------


def _pick(tables: list[_Table], feed: str, rng: random.Random, exclude: set[str],
          before: dt.datetime | None = None) -> _Table | None:
    candidates = [t for t in tables if t.feed == feed and t.unit not in exclude and t.wave == 1 and not t.note
                  and (before is None or t.landed_at < before)]
    return rng.choice(candidates) if candidates else None


def _add_problems(gen: _Generator, rng: random.Random) -> None:
    """Turn a few files bad, hold some back for wave 2, and add the late correction."""
    tables, used = gen.tables, {"TTPVHCC"}
    bad = _pick(tables, "dossier", rng, used, before=gen.deadline - dt.timedelta(days=5))
    if bad:  # online dossiers above the total: rejected, then resent fixed after the first pass
        used.add(bad.unit)
        fixed = _Table(**{**bad.__dict__, "rows": [dict(r) for r in bad.rows], "wave": 2,
                          "name": bad.name + "_gui_lai", "note": "fixed resend of a rejected file",
                          "landed_at": gen.deadline - dt.timedelta(days=3, hours=rng.randint(1, 9))})
        bad.rows[0]["received_online"] = bad.rows[0]["received_total"] + rng.randint(5, 40)
        bad.note = "rejected: online dossiers exceed the total"
        gen.add(fixed)
    wrong = _pick(tables, "dossier", rng, used)
    if wrong:  # another unit's figures in this unit's folder
        used.add(wrong.unit)
        others = sorted(u for u, row in gen.units.items() if u != wrong.unit and "dossier" in row["monthly_feeds"])
        other = rng.choice(others)
        wrong.rows = [{**r, "unit_code": other} for r in wrong.rows]
        wrong.note = f"rejected: rows carry the unit code {other}"
    garbled = _pick(tables, "disbursement", rng, used)
    if garbled:  # a number written as words
        used.add(garbled.unit)
        row = garbled.rows[0]
        row["capital_plan_vnd"] = f"{row['capital_plan_vnd'] / 1e9:.1f}".replace(".", ",") + " tỷ đồng"
        garbled.note = "rejected: a capital plan that is not a number"
    _add_future_indicator(gen, rng)
    _hold_back_decrease(gen, rng, used)
    _add_correction(gen, rng)


def _add_future_indicator(gen: _Generator, rng: random.Random) -> None:
    """An estimate for a month that has not happened yet: rejected."""
    monthly = [t for t in gen.tables if t.feed == "indicator" and len(t.rows[0]["period"]) == 7]
    if not monthly:
        return
    source = max(monthly, key=lambda t: (t.landed_at, t.name))
    nxt = dt.date(gen.year, gen.as_of.month, 1) + dt.timedelta(days=32)
    rows = [{**r, "period": f"{nxt.year}-{nxt.month:02d}"} for r in source.rows]
    gen.add(_Table(source.unit, "indicator", f"uoc_tinh_chi_tieu_{nxt.year}-{nxt.month:02d}",
                             f"ƯỚC TÍNH CHỈ TIÊU THÁNG {nxt.month:02d}/{nxt.year}", rows,
                             gen.deadline - dt.timedelta(days=4, hours=2), note="rejected: a period in the future",
                             style=source.style, columns=source.columns))


def _hold_back_decrease(gen: _Generator, rng: random.Random, used: set[str]) -> None:
    """The latest disbursement snapshot of one unit lands after the first pass with one figure lower: a warning."""
    by_unit: dict[str, list[_Table]] = {}
    for t in gen.tables:
        if t.feed == "disbursement" and t.unit not in used and not t.note:
            by_unit.setdefault(t.unit, []).append(t)
    options = []
    for unit in sorted(by_unit):
        snapshots = sorted(by_unit[unit], key=lambda t: t.name)
        if len(snapshots) >= 2 and any(r["disbursed_vnd"] > 1_000_000 for r in snapshots[-2].rows):
            options.append((snapshots[-2], snapshots[-1]))
    if not options:
        return
    previous, latest = rng.choice(options)
    before = max(previous.rows, key=lambda r: r["disbursed_vnd"])
    row = next(r for r in latest.rows if r["project_code"] == before["project_code"])
    cut = max(1_000_000, int(before["disbursed_vnd"] * rng.uniform(0.02, 0.06) // 1_000_000 * 1_000_000))
    row["disbursed_vnd"] = before["disbursed_vnd"] - cut
    latest.wave, latest.note = 2, "warning: cumulative disbursement lower than before (advance recovered)"


def _add_correction(gen: _Generator, rng: random.Random) -> None:
    """A unit re-sends an earlier month with revised figures after the first pass: version 2."""
    months = [t for t in gen.tables if t.feed == "dossier" and t.unit == "TTPVHCC" and not t.note]
    if not months:
        months = [t for t in gen.tables if t.feed == "dossier" and not t.note]
    if not months:
        return
    months.sort(key=lambda t: t.name)
    original = months[-2] if len(months) >= 2 else months[-1]
    row = dict(original.rows[0])
    row["received_online"] = min(row["received_total"], row["received_online"] + rng.randint(20, 60))
    row["resolved_on_time"] = min(row["resolved_total"], row["resolved_on_time"] + rng.randint(5, 20))
    gen.add(_Table(original.unit, "dossier", original.name + "_dieu_chinh",
                             original.title + " (ĐIỀU CHỈNH)", [row],
                             gen.deadline - dt.timedelta(days=2, hours=3), wave=2,
                             note="correction: supersedes the month sent earlier", style=original.style))


# --- public API ---------------------------------------------------------------------------------------


def build_feeds(catalog: Catalog, as_of: dt.date, seed: int) -> list[DemoFile]:
    """Every demo file for the catalog's submitting units, January to the as-of month; same seed, same bytes."""
    gen = _Generator(catalog, as_of, seed)
    gen.dossier()
    gen.admin_ops()
    gen.disbursement()
    gen.tasks()
    gen.indicator()
    _add_problems(gen, _rng(seed, "problems"))
    files = [_render(t) for t in gen.tables]
    return sorted(files, key=lambda f: (f.wave, f.rel_path))


def write_feeds(files: list[DemoFile], inbox: Path, wave: int) -> list[Path]:
    """Write the files of one wave under the inbox, each with its landing time as modification time."""
    written = []
    for demo_file in files:
        if demo_file.wave != wave:
            continue
        path = inbox / demo_file.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(demo_file.data)
        stamp = demo_file.landed_at.timestamp()
        os.utime(path, (stamp, stamp))
        written.append(path)
    return written
