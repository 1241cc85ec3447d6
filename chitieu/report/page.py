"""The report page: one self-contained HTML document (inline CSS and SVG, no script, no external reference)."""

from __future__ import annotations

import json

from chitieu.report import charts
from chitieu.report.fmt import COMPARATORS, VN_TZ, day_label, esc, num, period_label, quantity
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
    generated = data.generated_at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
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
    overview = (f'<div class="overview"><div>{charts.attainment_chart(summary)}</div>'
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
    return _section("disbursement", "Public-investment disbursement by project group", "Giải ngân vốn đầu tư công",
                    f"{chart}{note}{groups}{behind_table}")


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
    return ("<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Chỉ tiêu {data.year} — {esc(data.unit_name(data.province))}</title><style>{CSS}</style></head>"
            f"<body><main>{body}{footer}</main></body></html>\n")
