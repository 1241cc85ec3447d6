"""The report page: one self-contained HTML document (inline CSS and SVG, no external reference).

At a province's scale (a few dozen units) every section shows every unit and the page has no script. A section
that lists more than `national.THRESHOLD` units (a country's 3,321 communes) shows the national view instead
(chitieu/report/national.py): the province line, a summary, the worst and best ranked, charts of the worst
`national.CHART_CAP` units, and every unit in a searchable, sortable table, with one small inline script."""

from __future__ import annotations

import json

from chitieu.local_time import in_local_time
from chitieu.report import charts, national
from chitieu.report.fmt import COMPARATORS, day_label, esc, num, period_label, quantity
from chitieu.report.model import RATE_METRICS, ReportData
from chitieu.report.style import CSS

__all__ = ["render_page"]

STATUS_TEXT = {"met": ("Đạt", "met"), "not_met": ("Không đạt", "missed: deadline passed"),
               "not_due": ("Chưa đến hạn", "not yet due"), "no_data": ("Chưa có số liệu", "no data")}
FEED_TEXT = {"dossier": "Hồ sơ TTHC", "disbursement": "Giải ngân", "admin_ops": "Văn bản, hội nghị",
             "tasks": "Nhiệm vụ", "indicator": "Chỉ tiêu"}
SUBMISSION_TEXT = {"loaded": "loaded", "loaded_with_warnings": "loaded with warnings", "rejected": "rejected",
                   "duplicate": "duplicate"}
LEVEL_ORDER = {"province": 0, "department": 1, "center": 2, "commune": 3}
LEVEL_TEXT = {"province": "tỉnh", "department": "sở, ngành", "center": "trung tâm", "commune": "xã, phường"}
METRIC_TITLES_VI = {m: t.split(" / ")[0] for m, t in charts.METRIC_TITLES.items()}


def _unit_order(data: ReportData, codes: set[str]) -> list[str]:
    """Province first, then departments, centres, wards and communes, each by name."""
    def key(code: str) -> tuple:
        unit = data.units.get(code) or {}
        return (LEVEL_ORDER.get(unit.get("level"), 9), code.startswith("XA_"), unit.get("name_vi") or code)
    return sorted(codes, key=key)


def _badge(status: str) -> str:
    vi, en = STATUS_TEXT.get(status, (status, status))
    return f'<span class="badge {esc(status)}">{esc(vi)}</span><div class="en">{esc(en)}</div>'


def _section(anchor: str, title: str, subtitle: str, body: str) -> str:
    return (f'<section id="{anchor}"><h2>{esc(title)} <span class="vi">{esc(subtitle)}</span></h2>'
            f"{body}</section>")


# --- header and summary -------------------------------------------------------------------------------


def _header(data: ReportData) -> str:
    when = day_label(data.as_of) if data.as_of else period_label(data.as_of_month)
    province = data.unit_name(data.province)
    province_en = (data.units.get(data.province) or {}).get("name_en") or province
    generated = in_local_time(data.generated_at).strftime("%d/%m/%Y %H:%M")
    return (
        f'<header><div class="eyebrow">{esc(province)} · chitieu</div>'
        f"<h1>Theo dõi thực hiện chỉ tiêu năm {data.year}"
        f'<span class="en">{data.year} target monitoring report — {esc(province_en)}</span></h1>'
        f'<p class="meta">Số liệu đến / data as of <b>{esc(when)}</b> · lập lúc / generated {esc(generated)} '
        "(giờ Việt Nam) · nguồn / source: warehouse views <code>mart.*</code></p></header>")


def _cards(data: ReportData) -> str:
    counts = {s: sum(1 for t in data.targets if judge(data, t) == s) for s in STATUS_TEXT}
    due = [r for r in data.reporting if _is_due(data, r)]
    on_time = sum(1 for r in due if r["on_time"])
    received = sum(1 for r in due if r["received"])
    cards = [
        ("met", counts["met"], "chỉ tiêu đạt", "targets met"),
        ("not_met", counts["not_met"], "chỉ tiêu không đạt (đã quá hạn)", "targets missed: deadline passed"),
        ("not_due", counts["not_due"], "chỉ tiêu chưa đạt, chưa đến hạn", "not met yet, deadline ahead"),
        ("no_data", counts["no_data"], "chưa có số liệu", "targets without data"),
        ("info", f"{num(100 * received / len(due), 0) if due else '—'}%", "báo cáo đã nhận",
         f"monthly reports received ({received}/{len(due)})"),
        ("info", f"{num(100 * on_time / len(due), 0) if due else '—'}%", "báo cáo đúng hạn",
         "received by the 5th of the next month"),
        ("warn", data.submissions.get("rejected", 0), "tệp bị từ chối",
         f"files rejected · {data.submissions.get('loaded_with_warnings', 0)} loaded with warnings"),
    ]
    items = "".join(f'<div class="card {kind}"><div class="big">{esc(value)}</div><div>{esc(vi)}</div>'
                    f'<div class="en">{esc(en)}</div></div>' for kind, value, vi, en in cards)
    return f'<div class="cards">{items}</div>'


def _nav() -> str:
    links = [("targets", "Target attainment"), ("rates", "Dossier rates"), ("disbursement", "Disbursement"),
             ("reporting", "Reporting completeness"), ("quality", "Data quality")]
    return '<nav>' + " ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in links) + "</nav>"


# --- target attainment ----------------------------------------------------------------------------------


def _months_into_year(period: str | None) -> int | None:
    """Months of the year a period closes: 2026-10 -> 10, 2026-Q3 -> 9, 2026 -> 12."""
    if not period:
        return None
    _, _, part = period.partition("-")
    if not part:
        return 12
    if part[:1] in "Qq" and part[1:].isdigit():
        return 3 * int(part[1:])
    return int(part) if part.isdigit() else None


def _deadline_passed(data: ReportData, t: dict) -> bool:
    """Whether the target's deadline month (else the end of its year) is over at the report's as-of date."""
    deadline = t.get("deadline") or f"{t['year']}-12"
    due = (int(deadline[:4]), int(deadline[5:7]))
    if data.as_of:
        return (data.as_of.year, data.as_of.month) > due
    if data.as_of_month:
        return (int(data.as_of_month[:4]), int(data.as_of_month[5:7])) > due
    return True


def judge(data: ReportData, t: dict) -> str:
    """met, no_data, not_met (its deadline has passed: missed) or not_due (not met yet, deadline still ahead)."""
    if t["status"] == "not_met" and not _deadline_passed(data, t):
        return "not_due"
    return t["status"]


def _pace(data: ReportData, t: dict) -> str:
    """For a target not yet due: where it stands against a linear pace to its deadline (sums), or how far the
    current level is from the goal (rates and levels)."""
    unit = data.unit_of_measure(t)
    deadline = t.get("deadline") or f"{t['year']}-12"
    indicator = data.indicators.get(t["metric_code"]) or {}
    elapsed, total = _months_into_year(t.get("as_of_period")), _months_into_year(deadline)
    if (indicator.get("aggregation") == "sum" and t["comparator"] in (">", ">=") and elapsed and total
            and t["actual_value"] is not None):
        pace = float(t["target_value"]) * min(elapsed, total) / total
        verdict = "đúng tiến độ" if float(t["actual_value"]) >= pace else "chậm so với tiến độ"
        return (f"Hạn {period_label(deadline)}. Tiến độ đều đến {period_label(t['as_of_period'])}: cần "
                f"{quantity(pace, unit)}, đã thực hiện {quantity(t['actual_value'], unit)}: {verdict}.")
    return f"Hạn {period_label(deadline)}; mức hiện tại chưa đạt mục tiêu."


def _citation(data: ReportData, source_doc: str | None) -> str:
    """A source document as printed: type, number, date, issuer and title (documents.csv), else its file name."""
    doc = data.documents.get(source_doc or "")
    if not doc:
        return esc(source_doc or "—")
    number = f" số {doc['number']}" if doc.get("number") else " (không ghi số)"
    issued = f" ngày {doc['issued']}" if doc.get("issued") else ""
    issuer = f" của {doc['issuer']}" if doc.get("issuer") else ""
    note = f" ({doc['note']})" if doc.get("note") else ""
    return esc(f"{doc['doc_type']}{number}{issued}{issuer}: {doc['title']}{note}")


def _source_label(data: ReportData, source_doc: str | None) -> str:
    """Short citation of a source document in the table: its number (type and issuer when it has none)."""
    doc = data.documents.get(source_doc or "")
    if not doc:
        return source_doc or "—"
    if doc.get("number"):
        return f"{doc['doc_type']} {doc['number']}"
    return f"{doc['doc_type']} {doc.get('issuer') or ''}".strip()


def _shortfalls(data: ReportData, limit: int = 7) -> str:
    """The targets not met, furthest from their goal first (relative gap)."""
    def gap(t: dict) -> float:
        goal = float(t["target_value"]) or 1.0
        return abs(float(t["actual_value"]) - goal) / abs(goal)
    missed = sorted((t for t in data.targets if t["status"] == "not_met" and t["actual_value"] is not None),
                    key=gap, reverse=True)[:limit]
    if not missed:
        return '<p class="empty">Every target with data is met.</p>'
    items = "".join(
        f'<li><a href="#target-{esc(t["target_code"])}"><code>{esc(t["target_code"])}</code></a> '
        f'{esc(data.unit_name(t["unit_code"]))}<div class="en">{esc(t["description_en"])}: '
        f'<b>{quantity(t["actual_value"], data.unit_of_measure(t))}</b> vs '
        f'{COMPARATORS.get(t["comparator"], esc(t["comparator"]))} '
        f'{quantity(t["target_value"], data.unit_of_measure(t))}'
        "</div></li>" for t in missed)
    return f'<h3>Furthest from the goal <span class="vi">Chưa đạt, cách xa mục tiêu nhất</span></h3><ol>{items}</ol>'


def _target_row(data: ReportData, t: dict) -> str:
    comparator = COMPARATORS.get(t["comparator"], esc(t["comparator"]))
    unit = data.unit_of_measure(t)
    goal = f"{comparator} {quantity(t['target_value'], unit)}"
    actual = quantity(t["actual_value"], unit)
    as_of = f'<div class="en">{period_label(t["as_of_period"])}</div>' if t["as_of_period"] else ""
    judged = judge(data, t)
    pace = f'<div class="pace">{esc(_pace(data, t))}</div>' if judged == "not_due" else ""
    if t.get("decision_ref"):  # an adjusted target: the decision and the date it took effect
        goal += (f'<div class="en decision">điều chỉnh theo {esc(t["decision_ref"])}, '
                 f'từ {t["effective_from"]:%d/%m/%Y}</div>')
    return (f'<tr id="target-{esc(t["target_code"])}" data-status="{esc(t["status"])}" data-judged="{esc(judged)}">'
            f'<td class="code">{esc(t["target_code"])}</td>'
            f'<td>{esc(t["description_vi"])}<div class="en">{esc(t["description_en"])}</div></td>'
            f'<td class="num">{goal}</td><td class="num">{actual}{as_of}</td>'
            f"<td>{_badge(judged)}{pace}</td><td>{period_label(t['deadline'])}</td>"
            f'<td class="src"><span title="{_citation(data, t["source_doc"])}">'
            f'{esc(_source_label(data, t["source_doc"]))}</span> {esc(t["source_clause"])}</td></tr>')


def _targets(data: ReportData) -> str:
    units = _unit_order(data, {t["unit_code"] for t in data.targets})
    summary = [(data.unit_name(u), {s: sum(1 for t in data.targets if t["unit_code"] == u and judge(data, t) == s)
                                    for s in STATUS_TEXT}) for u in units]
    rows = []
    for unit in units:
        rows.append(f'<tr class="group"><th colspan="7">{esc(data.unit_name(unit))} '
                    f'<span class="code">{esc(unit)}</span></th></tr>')
        rows += [_target_row(data, t) for t in sorted((t for t in data.targets if t["unit_code"] == unit),
                                                key=lambda t: t["target_code"])]
    table = ('<table class="targets"><colgroup><col style="width:15%"><col style="width:33%">'
             '<col style="width:10%"><col style="width:12%"><col style="width:13%"><col style="width:7%">'
             '<col style="width:10%"></colgroup><thead><tr><th>Mã / code</th><th>Chỉ tiêu / target</th>'
             '<th class="num">Mục tiêu / goal</th><th class="num">Thực hiện / actual (kỳ / period)</th>'
             "<th>Trạng thái / status</th><th>Hạn / deadline</th><th>Nguồn / source</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>")
    docs = sorted({t["source_doc"] for t in data.targets if t["source_doc"]})
    sources = ('<div class="note">Văn bản nguồn / source documents (then the clause):<ul>' + "".join(
        f"<li>{_citation(data, d)}</li>" for d in docs) + "</ul></div>") if docs else ""
    note = ('<p class="note">Each target is judged on the latest year-to-date value of its metric or indicator '
            "(rates are ratios of sums over the months reported). Numbers use Vietnamese notation: "
            "1.795 = 1795; 23,49 = 23.49.</p>")
    chart = charts.attainment_chart(summary)
    if national.is_national(len(summary)):  # the units with the most targets missed, then not yet met
        worst = sorted(summary, key=lambda s: (-s[1]["not_met"], -s[1]["not_due"], -s[1]["no_data"], s[0]))
        chart = (f'<p class="note">{national.CHART_CAP} trên {num(len(summary))} đơn vị có chỉ tiêu: các đơn vị có '
                 "nhiều chỉ tiêu không đạt nhất (danh sách đầy đủ trong bảng dưới).</p>"
                 + charts.attainment_chart(worst[:national.CHART_CAP]))
    overview = (f'<div class="overview"><div>{chart}</div>'
                f"<div>{_shortfalls(data)}</div></div>")
    return _section("targets", "Target attainment", "Kết quả thực hiện chỉ tiêu",
                    f"{overview}{note}{table}{sources}")


# --- dossier rates -----------------------------------------------------------------------------------------


def _rates(data: ReportData) -> str:
    months = sorted({r["period"] for r in data.rates if r["scope"] == "month"})
    if not months:
        return _section("rates", "Dossier service rates", "Tỷ lệ giải quyết hồ sơ TTHC",
                        '<p class="empty">No dossier data yet.</p>')
    values = {(r["metric_code"], r["unit_code"], r["period"]): float(r["value"])
              for r in data.rates if r["scope"] == "month" and r["value"] is not None}
    series: dict[tuple[str, str], dict[str, tuple]] = {}
    for r in data.rates:
        point = series.setdefault((r["metric_code"], r["unit_code"]), {})
        month, ytd = point.get(r["period"], (None, None))
        value = float(r["value"]) if r["value"] is not None else None
        point[r["period"]] = (value, ytd) if r["scope"] == "month" else (month, value)
    codes = _unit_order(data, {r["unit_code"] for r in data.rates})
    names = {c: ("Toàn tỉnh" if c == data.province else data.unit_name(c)) for c in codes}
    metrics = [m for m in RATE_METRICS if any(r["metric_code"] == m for r in data.rates)]
    targets = [t for t in data.targets if t["year"] == data.year]  # the rates shown are the report year's
    trend = charts.rate_trends(metrics, months, series, targets, names, data.province)
    if national.is_national(len(codes) - (data.province in codes)):
        return _section("rates", "Dossier service rates by unit", "Tỷ lệ hồ sơ trực tuyến, đúng hạn, hài lòng",
                        f"<h3>Year to date against the targets</h3>{trend}"
                        + _rates_national(data, metrics, months, series, values, targets, codes, names))
    approved = frozenset((r["metric_code"], r["unit_code"], r["period"]) for r in data.rates
                         if r["scope"] == "month" and r.get("is_approved"))
    grid = charts.rate_heatmap(metrics, [(c, names[c]) for c in codes], months, values, targets, data.province,
                               approved)
    legend = ('<p class="legend"><span class="sw met"></span>meets the target <span class="sw close"></span>'
              'within 5 points <span class="sw below"></span>further below <span class="sw none"></span>no data. '
              "A unit is compared with its own target for the metric, else the province's, else the "
              "strictest target set for that metric (here the service centre's). ✓ approved: the unit's month "
              f"is approved and locked (đã phê duyệt; {len(approved)} of {len(values)} figures).</p>")
    return _section("rates", "Dossier service rates by unit and month", "Tỷ lệ hồ sơ trực tuyến, đúng hạn, hài lòng",
                    f"<h3>Year to date against the targets</h3>{trend}"
                    f"<h3>Each unit, month by month</h3>{legend}{grid}")


# --- disbursement ------------------------------------------------------------------------------------------------


def _disbursement(data: ReportData) -> str:
    if not data.projects:
        return _section("disbursement", "Public-investment disbursement", "Giải ngân vốn đầu tư công",
                        '<p class="empty">No disbursement data yet.</p>')
    owners = {p["unit_code"] for p in data.projects}
    if national.is_national(len(owners)):
        chart = _disbursement_national(data, sorted(owners))
    else:
        chart = charts.disbursement_chart(data.projects, data.milestones, data.year, data.as_of)
    rows = []
    for group, title in charts.GROUP_TITLES.items():
        mine = [p for p in data.projects if p["project_group"] == group]
        if not mine:
            continue
        plan = sum(float(p["capital_plan_vnd"]) for p in mine)
        done = sum(float(p["disbursed_vnd"]) for p in mine)
        count = {s: sum(1 for p in mine if p["status"] == s) for s in ("on_track", "behind", "not_due")}
        rows.append(f"<tr><td>{esc(title)}</td><td class='num'>{len(mine)}</td>"
                    f"<td class='num'>{num(plan / 1e9, 1)}</td><td class='num'>{num(done / 1e9, 1)}</td>"
                    f"<td class='num'><b>{num(100 * done / plan if plan else None, 1)}%</b></td>"
                    f"<td class='num ok'>{count['on_track']}</td><td class='num bad'>{count['behind']}</td>"
                    f"<td class='num'>{count['not_due']}</td></tr>")
    groups = ('<table class="compact"><thead><tr><th>Nhóm dự án / group</th><th class="num">dự án / projects</th>'
              '<th class="num">kế hoạch / plan (tỷ đồng)</th><th class="num">đã giải ngân / disbursed (tỷ đồng)</th>'
              '<th class="num">tỷ lệ / share</th><th class="num">on track</th><th class="num">behind</th>'
              f'<th class="num">not due</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    behind = sorted((p for p in data.projects if p["status"] == "behind"),
                    key=lambda p: float(p["progress_pct"] or 0) - float(p["milestone_pct"] or 0))[:12]
    groups_vi = charts.GROUP_TITLES
    late = "".join(
        f"<tr><td>{esc(data.unit_name(p['unit_code']))}</td><td><code>{esc(p['project_code'])}</code> "
        f"{esc(p.get('project_name'))}</td><td>{esc(groups_vi.get(p['project_group'], p['project_group']))}</td>"
        f"<td class='num'>{num(p['progress_pct'], 1)}%</td><td class='num'>{num(p['milestone_pct'], 0)}% "
        f"<span class='en'>by {day_label(p['milestone_date'])}</span></td><td>{day_label(p['as_of_date'])}</td></tr>"
        for p in behind)
    behind_table = ("<h3>Projects furthest behind their milestone</h3>"
                    '<table class="compact"><thead><tr><th>Đơn vị / unit</th><th>Dự án / project</th>'
                    "<th>Nhóm / group</th>"
                    '<th class="num">giải ngân / disbursed</th><th class="num">mốc / milestone</th>'
                    f"<th>ngày số liệu / as of</th></tr></thead><tbody>{late}</tbody></table>") if late else ""
    note = ('<p class="note">Each dot is a project at its latest reported date; the dashed line is the share of the '
            "capital plan required by the milestones (seed 003, item II.5); the diamond is the whole group.</p>")
    body = f"{chart}{note}{groups}{behind_table}"
    if national.is_national(len(owners)):  # the province by group first, then each unit
        body = f"{groups}<h3>Từng đơn vị / each unit</h3>{chart}{behind_table}"
    return _section("disbursement", "Public-investment disbursement by project group", "Giải ngân vốn đầu tư công",
                    body)


# --- reporting completeness and timeliness ---------------------------------------------------------------


def _is_due(data: ReportData, row: dict) -> bool:
    """Whether a monthly report is past its due date at the as-of date (mart.reporting_rate.is_due, or, for a report
    asked for another date than the warehouse's, at that date)."""
    if data.as_of:
        return row["due_date"] < data.as_of
    return bool(row["is_due"])


def _reporting(data: ReportData) -> str:
    if not data.reporting:
        return _section("reporting", "Reporting completeness and timeliness", "Tình hình gửi báo cáo",
                        '<p class="empty">No unit has monthly reports due.</p>')
    months = sorted({r["period"] for r in data.reporting})
    by_key: dict[tuple[str, str], dict[str, dict]] = {}
    for r in data.reporting:
        by_key.setdefault((r["unit_code"], r["feed"]), {})[r["period"]] = r
    if national.is_national(len({u for u, _ in by_key})):
        return _section("reporting", "Reporting completeness and timeliness by unit", "Tình hình gửi báo cáo định kỳ",
                        _reporting_national(data, months, by_key))
    rows = []
    order = {c: i for i, c in enumerate(_unit_order(data, {u for u, _ in by_key}))}
    for unit, feed in sorted(by_key, key=lambda k: (k[1], order[k[0]])):
        cells, due, received, on_time = [], 0, 0, 0
        for month in months:
            r = by_key[(unit, feed)].get(month)
            if r is None:
                cells.append("<td></td>")
                continue
            is_due = _is_due(data, r)
            due += is_due
            received += bool(r["received"]) and is_due
            on_time += bool(r["on_time"]) and is_due
            if r["on_time"]:
                cells.append('<td class="cell ok" title="on time">✓</td>')
            elif r["received"]:
                when = day_label(r.get("received_at"))[:5]
                cells.append(f'<td class="cell late" title="received late">{esc(when)}</td>')
            elif is_due:
                cells.append('<td class="cell miss" title="missing">✗</td>')
            else:
                cells.append('<td class="cell open" title="not yet due">·</td>')
        share = f"{num(100 * on_time / due, 0)}%" if due else "—"
        rows.append(f"<tr><td>{esc(data.unit_name(unit))}</td><td>{esc(FEED_TEXT.get(feed, feed))}</td>"
                    f"{''.join(cells)}<td class='num'>{received}/{due}</td><td class='num'>{share}</td></tr>")
    head = "".join(f"<th class='cell'>{esc(m[5:])}</th>" for m in months)
    legend = ('<p class="legend"><span class="sw met"></span>✓ received by the 5th of the next month '
              '<span class="sw close"></span>received late (date shown) <span class="sw below"></span>✗ missing '
              '<span class="sw none"></span>· not yet due. A rejected file does not count as received.</p>')
    table = (f'<table class="grid"><thead><tr><th>Đơn vị / unit</th><th>Báo cáo / feed</th>{head}'
             '<th class="num">nhận / received</th><th class="num">đúng hạn / on time</th></tr></thead>'
             f"<tbody>{''.join(rows)}</tbody></table>")
    return _section("reporting", "Reporting completeness and timeliness by unit", "Tình hình gửi báo cáo định kỳ",
                    legend + table)


# --- national views: sections listing more than national.THRESHOLD units -------------------------------------------

METRIC_SHORT = {"online_dossier_rate": "hồ sơ trực tuyến", "on_time_resolution_rate": "giải quyết đúng hạn",
                "satisfaction_rate": "hài lòng"}
BAND_TEXT = {"met": "đạt chỉ tiêu", "close": "thấp hơn chỉ tiêu ≤ 5 điểm", "below": "thấp hơn chỉ tiêu > 5 điểm",
             "none": "chưa có số liệu"}


def _pct(value: float | None) -> str:
    return f"{num(value, 1)}%" if value is not None else "—"


def _spread(values: list[float]) -> str:
    """Lowest · first quartile · median · third quartile · highest, in %."""
    five = national.quartiles(values)
    return " · ".join(num(v, 1) for v in five) if five else "—"


def _ranked(title: str, kind: str, ordered: list[tuple[str, float]], data: ReportData) -> national.Ranking:
    return national.Ranking(title, kind, [(data.unit_name(c), c, _pct(v)) for c, v in ordered[:national.RANKED]])


def _worst_and_best(worst_title: str, best_title: str, lowest_first: list[tuple[str, float]],
                    data: ReportData) -> list[national.Ranking]:
    """The worst units in the order given (lowest first) and the best by value, then name."""
    highest_first = sorted(lowest_first, key=lambda cv: (-cv[1], data.unit_name(cv[0])))
    return [_ranked(worst_title, "worst", lowest_first, data), _ranked(best_title, "best", highest_first, data)]


def _rates_national(data: ReportData, metrics: list[str], months: list[str], series: dict, values: dict,
                    targets: list[dict], codes: list[str], names: dict[str, str]) -> str:
    """Each unit's year-to-date rates against its reference target: summary, worst and best, worst 20 month by
    month, every unit in a table."""
    province = data.province
    members = [c for c in codes if c != province]
    ytd: dict[tuple[str, str], float] = {}
    for (metric, code), points in series.items():
        known = sorted((p, v[1]) for p, v in points.items() if v[1] is not None)
        if known:
            ytd[(metric, code)] = known[-1][1]
    bands = {(m, c): charts.band(ytd.get((m, c)), charts.reference_target(targets, m, c, province))
             for m in metrics for c in members}
    head = ["Tỷ lệ lũy kế", *BAND_TEXT.values(), "phân bố (%): thấp nhất · ¼ · trung vị · ¾ · cao nhất"]
    summary_rows = []
    rankings = []
    for metric in metrics:
        counted = [sum(1 for c in members if bands[(metric, c)] == b) for b in BAND_TEXT]
        have = [(c, ytd[(metric, c)]) for c in members if (metric, c) in ytd]
        summary_rows.append([METRIC_TITLES_VI.get(metric, metric), *(num(n) for n in counted),
                             _spread([v for _, v in have])])
        have.sort(key=lambda cv: (cv[1], data.unit_name(cv[0])))
        rankings += _worst_and_best(f"{national.RANKED} đơn vị thấp nhất: {METRIC_SHORT.get(metric, metric)}",
                                    f"{national.RANKED} đơn vị cao nhất: {METRIC_SHORT.get(metric, metric)}", have,
                                    data)

    def badness(code: str) -> tuple:
        mine = [bands[(m, code)] for m in metrics]
        shown = [ytd[(m, code)] for m in metrics if (m, code) in ytd]
        return (-mine.count("below"), -mine.count("close"), sum(shown) / len(shown) if shown else 101.0,
                data.unit_name(code))

    ranked = sorted(members, key=badness)
    worst = ranked[:national.CHART_CAP]
    charted = set(worst)
    approved = frozenset((r["metric_code"], r["unit_code"], r["period"]) for r in data.rates
                         if r["scope"] == "month" and r.get("is_approved") and r["unit_code"] in charted)
    grid = charts.rate_heatmap(metrics, [(c, names[c]) for c in [province, *worst] if c in names], months, values,
                               targets, province, approved)
    columns = [national.Column("Đơn vị"), national.Column("Mã"), national.Column("Cấp"),
               *(national.Column(f"{METRIC_SHORT.get(m, m).capitalize()} (%)", True) for m in metrics),
               national.Column("Số tỷ lệ chưa đạt", True), national.Column("Xếp hạng (1 = thấp nhất)", True)]
    position = {c: i for i, c in enumerate(ranked, start=1)}
    rows = []
    for code in sorted(members, key=data.unit_name):
        missed = sum(1 for m in metrics if bands[(m, code)] in ("close", "below"))
        level = (data.units.get(code) or {}).get("level")
        rows.append(national.UnitRow(data.unit_name(code), code, [
            (data.unit_name(code), None), (code, None), (LEVEL_TEXT.get(level, level or ""), None),
            *((_pct(ytd.get((m, code))), ytd.get((m, code))) for m in metrics),
            (str(missed), missed), (num(position[code]), position[code])]))
    line = [(METRIC_SHORT.get(m, m), _pct(ytd.get((m, province)))) for m in metrics]
    line.append((f"lũy kế đến {period_label(months[-1])}; đơn vị báo cáo", num(len(members))))
    legend = ('<p class="legend"><span class="sw met"></span>đạt chỉ tiêu <span class="sw close"></span>thấp hơn '
              '≤ 5 điểm <span class="sw below"></span>thấp hơn > 5 điểm <span class="sw none"></span>chưa có số '
              "liệu. Mỗi đơn vị so với chỉ tiêu của chính nó, nếu không có thì chỉ tiêu của tỉnh, nếu không có thì "
              "chỉ tiêu cao nhất đặt cho tỷ lệ đó. ✓: tháng đã phê duyệt.</p>")
    return "<h3>Từng đơn vị / each unit</h3>" + national.render_unit_list(
        "rates", province_label="Toàn tỉnh", province=line, summary_head=head, summary_rows=summary_rows,
        rankings=rankings, columns=columns, rows=rows, table_title=f"Tất cả {num(len(members))} đơn vị",
        chart=legend + grid,
        chart_title=f"{len(worst)} đơn vị thấp nhất (nhiều tỷ lệ chưa đạt nhất), từng tháng, và toàn tỉnh")


def _disbursement_national(data: ReportData, owners: list[str]) -> str:
    """Each investor unit's share of its capital plan disbursed: summary, worst and best, worst 20 charted, every
    unit in a table."""
    totals: dict[str, list[float]] = {c: [0, 0.0, 0.0, 0] for c in owners}
    for p in data.projects:
        t = totals[p["unit_code"]]
        t[0] += 1
        t[1] += float(p["capital_plan_vnd"])
        t[2] += float(p["disbursed_vnd"])
        t[3] += p["status"] == "behind"
    share = {c: 100 * t[2] / t[1] if t[1] else None for c, t in totals.items()}
    plan, done = sum(t[1] for t in totals.values()), sum(t[2] for t in totals.values())
    overall = 100 * done / plan if plan else None
    have = sorted(((c, v) for c, v in share.items() if v is not None), key=lambda cv: (cv[1], data.unit_name(cv[0])))
    bands = [("dưới 25%", 0, 25), ("25–50%", 25, 50), ("50–75%", 50, 75), ("từ 75% trở lên", 75, 1000)]
    head = ["Tỷ lệ giải ngân của đơn vị", *(b for b, _, _ in bands), "có dự án chậm tiến độ",
            "phân bố (%): thấp nhất · ¼ · trung vị · ¾ · cao nhất"]
    counts = [num(sum(1 for _, v in have if lo <= v < hi)) for _, lo, hi in bands]
    summary_rows = [["Số đơn vị", *counts, num(sum(1 for t in totals.values() if t[3])), _spread([v for _, v in have])]]
    rankings = _worst_and_best(f"{national.RANKED} đơn vị giải ngân thấp nhất",
                               f"{national.RANKED} đơn vị giải ngân cao nhất", have, data)
    worst = have[:national.CHART_CAP]
    chart = charts.unit_bars([(data.unit_name(c), v) for c, v in worst], overall, "toàn tỉnh",
                             "% kế hoạch vốn đã giải ngân", "disbursement-units",
                             "Units with the lowest share of their capital plan disbursed")
    columns = [national.Column("Đơn vị"), national.Column("Mã"), national.Column("Dự án", True),
               national.Column("Kế hoạch (tỷ đồng)", True), national.Column("Đã giải ngân (tỷ đồng)", True),
               national.Column("Tỷ lệ (%)", True), national.Column("Dự án chậm tiến độ", True)]
    rows = [national.UnitRow(data.unit_name(c), c, [
        (data.unit_name(c), None), (c, None), (num(t[0]), t[0]), (num(t[1] / 1e9, 1), round(t[1] / 1e9, 3)),
        (num(t[2] / 1e9, 1), round(t[2] / 1e9, 3)), (_pct(share[c]), share[c] and round(share[c], 2)),
        (num(t[3]), t[3])]) for c, t in sorted(totals.items(), key=lambda ct: data.unit_name(ct[0]))]
    line = [("dự án", num(sum(t[0] for t in totals.values()))), ("kế hoạch vốn", f"{num(plan / 1e9, 1)} tỷ đồng"),
            ("đã giải ngân", f"{num(done / 1e9, 1)} tỷ đồng ({_pct(overall)})"), ("đơn vị", num(len(owners)))]
    return national.render_unit_list(
        "disbursement", province_label="Toàn tỉnh", province=line, summary_head=head, summary_rows=summary_rows,
        rankings=rankings, columns=columns, rows=rows, table_title=f"Tất cả {num(len(owners))} đơn vị",
        chart=chart, chart_title=f"{len(worst)} đơn vị giải ngân thấp nhất (đường nét đứt: toàn tỉnh)")


def _months_text(periods: list[str]) -> str:
    """Months of one year as runs: ['2026-01', '2026-02', '2026-03', '2026-05'] -> '01–03, 05'."""
    runs: list[list[int]] = []
    for month in sorted(int(p[5:7]) for p in periods):
        if runs and month == runs[-1][1] + 1:
            runs[-1][1] = month
        else:
            runs.append([month, month])
    return ", ".join(f"{a:02d}" if a == b else f"{a:02d}–{b:02d}" for a, b in runs)


def _reporting_national(data: ReportData, months: list[str], by_key: dict[tuple[str, str], dict[str, dict]]) -> str:
    """Each unit's monthly reports received and on time: summary per feed, worst and best, every unit-feed in a
    table (the missing months named)."""
    stats = {}
    for key, per_month in by_key.items():
        due = [r for r in per_month.values() if _is_due(data, r)]
        received = sum(1 for r in due if r["received"])
        on_time = sum(1 for r in due if r["on_time"])
        missing = [r["period"] for r in due if not r["received"]]
        stats[key] = (len(due), received, on_time, sorted(missing))
    all_due = sum(s[0] for s in stats.values())
    all_received, all_on_time = sum(s[1] for s in stats.values()), sum(s[2] for s in stats.values())
    feeds = sorted({f for _, f in stats}, key=lambda f: list(FEED_TEXT).index(f) if f in FEED_TEXT else 99)
    head = ["Báo cáo", "đơn vị phải gửi", "gửi đủ, đúng hạn", "có báo cáo gửi muộn", "còn thiếu báo cáo",
            "đã nhận", "đúng hạn"]
    summary_rows = []
    for feed in feeds:
        mine = [s for (u, f), s in stats.items() if f == feed and s[0]]
        due, received, on_time = sum(s[0] for s in mine), sum(s[1] for s in mine), sum(s[2] for s in mine)
        summary_rows.append([FEED_TEXT.get(feed, feed), num(len(mine)), num(sum(1 for s in mine if s[2] == s[0])),
                             num(sum(1 for s in mine if s[1] > s[2])), num(sum(1 for s in mine if s[3])),
                             f"{num(received)}/{num(due)}", _pct(100 * on_time / due if due else None)])
    share = {k: 100 * s[2] / s[0] for k, s in stats.items() if s[0]}
    by_unit: dict[str, list[int]] = {}
    for (unit, _), s in stats.items():
        total = by_unit.setdefault(unit, [0, 0, 0])
        total[0] += s[0]
        total[1] += s[1]
        total[2] += s[2]
    unit_share = sorted(((u, 100 * t[2] / t[0]) for u, t in by_unit.items() if t[0]),
                        key=lambda uv: (uv[1], by_unit[uv[0]][1] - by_unit[uv[0]][0], data.unit_name(uv[0])))
    rankings = _worst_and_best(f"{national.RANKED} đơn vị có tỷ lệ báo cáo đúng hạn thấp nhất",
                               f"{national.RANKED} đơn vị có tỷ lệ báo cáo đúng hạn cao nhất", unit_share, data)
    columns = [national.Column("Đơn vị"), national.Column("Mã")]
    for feed in feeds:
        columns += [national.Column(f"{FEED_TEXT.get(feed, feed)}: đã nhận", True),
                    national.Column(f"{FEED_TEXT.get(feed, feed)}: đúng hạn (%)", True)]
    columns.append(national.Column("Tháng còn thiếu"))
    rows = []
    for unit in sorted(by_unit, key=data.unit_name):
        cells: list[tuple[str, float | None]] = [(data.unit_name(unit), None), (unit, None)]
        missing = []
        for feed in feeds:
            due, received, _, months_missing = stats.get((unit, feed), (0, 0, 0, []))
            rate = share.get((unit, feed))
            cells += [(f"{num(received)}/{num(due)}" if due else "—", received if due else None),
                      (_pct(rate), None if rate is None else round(rate, 2))]
            if months_missing:
                missing.append(f"{FEED_TEXT.get(feed, feed)}: {_months_text(months_missing)}")
        cells.append(("; ".join(missing) or "—", None))
        rows.append(national.UnitRow(data.unit_name(unit), unit, cells))
    line = [("báo cáo đã nhận", f"{num(all_received)}/{num(all_due)} "
                                f"({_pct(100 * all_received / all_due if all_due else None)})"),
            ("đúng hạn", _pct(100 * all_on_time / all_due if all_due else None)),
            ("đơn vị phải gửi", num(len(by_unit))),
            ("tháng", f"{period_label(months[0])}–{period_label(months[-1])}")]
    note = ('<p class="note">Báo cáo đúng hạn: nhận trước ngày 5 tháng sau. Tệp bị từ chối không tính là đã nhận. '
            "Tháng còn thiếu: đã đến hạn mà chưa nhận.</p>")
    return note + national.render_unit_list(
        "reporting", province_label="Toàn tỉnh", province=line, summary_head=head, summary_rows=summary_rows,
        rankings=rankings, columns=columns, rows=rows,
        table_title=f"Tất cả {num(len(rows))} đơn vị phải gửi báo cáo")


# --- data quality ------------------------------------------------------------------------------------------------


def _sample_value(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return num(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _sample_text(sample: object) -> str:
    """A failing-rows sample as 'row 3: column = value, ...' lines (helper columns without their underscore)."""
    if isinstance(sample, str):
        try:
            sample = json.loads(sample)
        except ValueError:
            return esc(sample[:300])
    if not isinstance(sample, list):
        return esc(str(sample)[:300])
    lines = []
    for item in sample[:3]:
        if isinstance(item, dict):
            cells = ", ".join(f"{str(k).lstrip('_')} = {_sample_value(v)}" for k, v in item.items() if k != "row")
            lines.append(f"row {item.get('row', '?')}: {cells}")
    return "<br>".join(esc(line[:240]) for line in lines)


def _quality(data: ReportData) -> str:
    statuses = " · ".join(f'<span class="pill {esc(s)}">{esc(SUBMISSION_TEXT.get(s, s))}: {n}</span>'
                          for s, n in sorted(data.submissions.items()))
    rows = "".join(
        f"<tr><td>{day_label(f['received_at'])}</td><td>{esc(data.unit_name(f['unit_code']))}</td>"
        f"<td>{esc(FEED_TEXT.get(f['feed'], f['feed']))}</td><td class='file'>{esc(f.get('file_name'))}</td>"
        f"<td><span class='sev {esc(f['severity'])}'>{esc(f['severity'])}</span></td>"
        f"<td><code>{esc(f['expectation'])}</code><div class='en'>{esc(f.get('column_name'))}</div></td>"
        f"<td class='num'>{esc(f['failed_rows'])}</td><td class='sample'>{_sample_text(f.get('sample'))}</td></tr>"
        for f in data.failures)
    failures = ('<table class="compact quality"><thead><tr><th>Nhận / received</th><th>Đơn vị / unit</th>'
                '<th>Báo cáo / feed</th><th>Tệp / file</th><th>Mức / severity</th><th>Kiểm tra / check</th>'
                f'<th class="num">dòng lỗi / rows</th><th>Ví dụ / sample</th></tr></thead><tbody>{rows}</tbody></table>'
                ) if rows else '<p class="empty">No failed checks.</p>'
    shown = (f"<p class='note'>The {len(data.failures)} most recent of {data.failure_count} failed checks "
             "(full list: <code>mart.data_quality</code>). Errors reject the whole file; warnings load it.</p>")
    versions = "".join(
        f"<tr><td>{day_label(c['received_at'])}</td><td>{esc(data.unit_name(c['unit_code']))}</td>"
        f"<td>{esc(FEED_TEXT.get(c['feed'], c['feed']))}</td><td class='file'>{esc(c['file_name'])}</td>"
        f"<td class='num'>{esc(c['version'])}</td><td>{'current' if c['is_current'] else 'superseded'}</td></tr>"
        for c in data.corrections)
    corrections = ("<h3>Later versions: files that superseded data already received</h3>"
                   '<p class="note">A correction of a month already reported becomes version 2, 3, …; the older '
                   "version stays in <code>mart.submission_log</code>. Task registers are re-sent whole, so each "
                   "register is a new version of the tasks it lists.</p>"
                   '<table class="compact"><thead><tr><th>Nhận / received</th><th>Đơn vị / unit</th>'
                   '<th>Báo cáo / feed</th><th>Tệp / file</th><th class="num">phiên bản / version</th>'
                   f"<th>trạng thái / state</th></tr></thead><tbody>{versions}</tbody></table>") if versions else ""
    return _section("quality", "Data quality: latest failed checks", "Chất lượng số liệu",
                    f"<p>Submissions / tệp đã nhận: {statuses}</p>{shown}{failures}{corrections}")


def render_page(data: ReportData) -> str:
    """The whole report as one HTML document."""
    body = "".join((_header(data), _cards(data), _nav(), _targets(data), _rates(data), _disbursement(data),
                    _reporting(data), _quality(data)))
    footer = ("<footer>chitieu — generated from the warehouse's <code>mart</code> views. Self-contained: no script, "
              "font or image is loaded from elsewhere.</footer>")
    if 'class="unit-list"' in body:  # the national view: its tables' search and sort, inline
        footer = (f"<script>{national.script()}</script><footer>chitieu — generated from the warehouse's "
                  "<code>mart</code> views. Self-contained: one small inline script (search and sort of the tables); "
                  "no script, font or image is loaded from elsewhere.</footer>")
    return ("<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Chỉ tiêu {data.year} — {esc(data.unit_name(data.province))}</title><style>{CSS}</style></head>"
            f"<body><main>{body}{footer}</main></body></html>\n")
