"""Charts of the report as inline SVG text (matplotlib, Agg backend, no external references)."""

from __future__ import annotations

import datetime as dt
import io
import re

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from chitieu.vocabulary import PROJECT_GROUP_VI, PROJECT_GROUPS  # noqa: E402

__all__ = ["attainment_chart", "band", "disbursement_chart", "rate_heatmap", "rate_trends", "reference_target",
           "unit_bars"]

GREEN, AMBER, RED, GREY, INK = "#2e7d32", "#ef8f00", "#c62828", "#9e9e9e", "#263238"
CELL = {"met": "#c8e6c9", "close": "#ffe0b2", "below": "#ffcdd2", "none": "#f4f4f4"}
_BANDS = list(CELL)
STATUS_COLORS = {"met": GREEN, "not_met": RED, "not_due": AMBER, "no_data": GREY}
PROJECT_COLORS = {"on_track": GREEN, "behind": RED, "not_due": GREY}
GROUP_TITLES = {group: f"{PROJECT_GROUP_VI[group]} / {group}" for group in PROJECT_GROUPS}
METRIC_TITLES = {"online_dossier_rate": "Hồ sơ trực tuyến / online dossiers (%)",
                 "on_time_resolution_rate": "Giải quyết đúng hạn / resolved on time (%)",
                 "satisfaction_rate": "Mức độ hài lòng / satisfaction (%)"}
_RC = {"svg.fonttype": "none", "text.parse_math": False, "font.family": "DejaVu Sans", "font.size": 9,
       "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10, "axes.titleweight": "bold"}


def _svg(fig: Figure, name: str, label: str, units: int | None = None) -> str:
    """The figure as an inline <svg> element: no XML prolog, namespaces, metadata or global styles; `units`, the
    number of units it draws a bar or row for, as its data-units attribute."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.08,
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s+xmlns(:\w+)?=\"[^\"]*\"", "", svg)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r"(https?:)?//[^\s\"'<>]+", "", svg)  # belt and braces: nothing may point outside the page
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    count = f' data-units="{units}"' if units is not None else ""
    return svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{label}"{count}', 1)


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


# --- target attainment ----------------------------------------------------------------------------


def attainment_chart(rows: list[tuple[str, dict[str, int]]]) -> str:
    """Horizontal stacked bars: per unit, how many targets are met, missed, not met before their deadline, without
    data."""
    with matplotlib.rc_context(_RC):
        fig = _figure(6.4, 0.42 * len(rows) + 0.9)
        ax = fig.add_subplot()
        labels = [name for name, _ in rows][::-1]
        left = [0] * len(rows)
        for status, title in (("met", "đạt / met"), ("not_met", "không đạt / missed"),
                              ("not_due", "chưa đến hạn / not yet due"), ("no_data", "chưa có số liệu / no data")):
            counts = [c.get(status, 0) for _, c in rows][::-1]
            bars = ax.barh(labels, counts, left=left, color=STATUS_COLORS[status], label=title, height=0.62)
            for bar, count in zip(bars, counts, strict=True):
                if count:
                    ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, str(count),
                            ha="center", va="center", color="white", fontsize=8, fontweight="bold")
            left = [a + b for a, b in zip(left, counts, strict=True)]
        ax.set_xlabel("số chỉ tiêu / targets")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="lower center", bbox_to_anchor=(0.45, 1.0), ncol=2, frameon=False, fontsize=8)
        ax.tick_params(axis="y", length=0)
        return _svg(fig, "attainment", "Targets met, not met and without data, by unit", len(rows))


# --- dossier service rates ------------------------------------------------------------------------------


def reference_target(targets: list[dict], metric: str, unit: str, province: str) -> dict | None:
    """The target a unit's rate is judged against: its own, else the province's, else the metric's strictest."""
    mine = [t for t in targets if t["metric_code"] == metric]
    own = [t for t in mine if t["unit_code"] == unit]
    provincial = [t for t in mine if t["unit_code"] == province]
    pool = own or provincial or mine
    return max(pool, key=lambda t: float(t["target_value"])) if pool else None


def band(value: float | None, target: dict | None) -> str:
    """met, close (within 5 points), below, or none (no value) against a reference target."""
    if value is None:
        return "none"
    if target is None:
        return "met"
    goal, comparator = float(target["target_value"]), target["comparator"]
    ok = {">": value > goal, ">=": value >= goal, "=": round(value, 2) == round(goal, 2),
          "<=": value <= goal, "<": value < goal}[comparator]
    if ok:
        return "met"
    return "close" if abs(value - goal) <= 5 else "below"


def rate_heatmap(metrics: list[str], units: list[tuple[str, str]], months: list[str],
                 values: dict[tuple[str, str, str], float], targets: list[dict], province: str,
                 approved: frozenset[tuple[str, str, str]] = frozenset()) -> str:
    """Unit x month grid per metric, each cell coloured against the unit's reference target; a value resting on
    approved periods only (mart.metric_value.is_approved) carries a tick."""
    with matplotlib.rc_context(_RC):
        fig = _figure(14, 0.25 * len(units) + 1.3)
        axes = fig.subplots(1, len(metrics), sharey=True)
        axes = axes if len(metrics) > 1 else [axes]
        for ax, metric in zip(axes, metrics, strict=True):
            grid = []
            for row, (code, _) in enumerate(units):
                target = reference_target(targets, metric, code, province)
                cells = []
                for col, month in enumerate(months):
                    value = values.get((metric, code, month))
                    cells.append(_BANDS.index(band(value, target)))
                    if value is not None:
                        tick = "✓" if (metric, code, month) in approved else ""
                        ax.text(col, row, f"{value:.1f}".replace(".", ",") + tick, ha="center", va="center",
                                fontsize=6.5,
                                color=INK, fontweight="bold" if code == province else "normal")
                grid.append(cells)
            # vector cells (pcolormesh), not a raster image: the SVG stays text and shapes only
            ax.pcolormesh([x - 0.5 for x in range(len(months) + 1)], [y - 0.5 for y in range(len(units) + 1)], grid,
                          cmap=ListedColormap([CELL[b] for b in _BANDS]), vmin=-0.5, vmax=len(_BANDS) - 0.5)
            ax.set_ylim(len(units) - 0.5, -0.5)
            ax.set_xticks(range(len(months)), [m[5:] for m in months], fontsize=7.5)
            ax.set_yticks(range(len(units)), [name for _, name in units], fontsize=7.5)
            ax.set_xticks([x - 0.5 for x in range(1, len(months))], minor=True)
            ax.set_yticks([y - 0.5 for y in range(1, len(units))], minor=True)
            ax.grid(which="minor", color="white", linewidth=1.2)
            ax.tick_params(which="both", length=0)
            ax.axhline(0.5, color=INK, linewidth=1.2)
            ax.set_title(METRIC_TITLES.get(metric, metric), loc="left")
            ax.set_xlabel("tháng / month")
            for side in ("left", "bottom"):
                ax.spines[side].set_visible(False)
        return _svg(fig, "rates-grid", "Dossier rates by unit and month, coloured against targets",
                    sum(code != province for code, _ in units))


def rate_trends(metrics: list[str], months: list[str], series: dict[tuple[str, str], dict[str, tuple]],
                targets: list[dict], names: dict[str, str], province: str) -> str:
    """Per metric: year-to-date line and monthly dots of the province and of each unit with a target."""
    palette = ["#1565c0", "#6a1b9a", "#00838f", "#ad1457"]
    with matplotlib.rc_context(_RC):
        fig = _figure(14, 3.3)
        axes = fig.subplots(1, len(metrics))
        axes = axes if len(metrics) > 1 else [axes]
        for ax, metric in zip(axes, metrics, strict=True):
            own = [t for t in targets if t["metric_code"] == metric]
            units = [province] + sorted({t["unit_code"] for t in own} - {province})
            x = list(range(len(months)))
            lows = [100.0]
            for i, unit in enumerate(units):
                points = series.get((metric, unit), {})
                color = INK if unit == province else palette[i % len(palette)]
                ytd = [points.get(m, (None, None))[1] for m in months]
                month = [points.get(m, (None, None))[0] for m in months]
                ax.plot(x, [v if v is not None else float("nan") for v in ytd], color=color, linewidth=2,
                        label=f"{names.get(unit, unit)} — lũy kế / YTD")
                ax.scatter(x, [v if v is not None else float("nan") for v in month], color=color, s=12, alpha=0.55)
                lows += [v for v in ytd + month if v is not None]
            for i, target in enumerate(sorted(own, key=lambda t: t["unit_code"] != province)):
                unit = target["unit_code"]
                color = INK if unit == province else palette[(units.index(unit)) % len(palette)]
                goal = float(target["target_value"])
                ax.axhline(goal, color=color, linestyle="--", linewidth=1)
                sign = {">=": "≥", "<=": "≤"}.get(target["comparator"], target["comparator"])
                ax.annotate(f"{target['target_code']}: {sign} {goal:g}%", (0, goal),
                            xytext=(2, 3 if i % 2 == 0 else -10), textcoords="offset points",
                            fontsize=7, color=color)
                lows.append(goal)
            ax.set_ylim(max(0.0, min(lows) - 2), 100.5)
            ax.set_xticks(x, [m[5:] for m in months], fontsize=7.5)
            ax.set_title(METRIC_TITLES.get(metric, metric), loc="left")
            ax.legend(fontsize=7, frameon=False, loc="lower right")
            ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        return _svg(fig, "rates-trend", "Year-to-date dossier rates of the province and target units")


# --- disbursement ------------------------------------------------------------------------------------


def disbursement_chart(projects: list[dict], milestones: list[dict], year: int, as_of: dt.date | None) -> str:
    """Per project group: each project's progress on its date, the group total, and the milestone line."""
    groups = list(PROJECT_GROUPS)
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    with matplotlib.rc_context(_RC):
        fig = _figure(14, 3.4)
        axes = fig.subplots(1, len(groups), sharey=True)
        for ax, group in zip(axes, groups, strict=True):
            steps = sorted((dt.date(year, *map(int, m["milestone_mmdd"].split("-"))), float(m["required_pct"]))
                           for m in milestones if m["project_group"] == group)
            if steps:
                xs = [d for d, _ in steps] + [end]
                ys = [p for _, p in steps] + [steps[-1][1]]
                ax.step(xs, ys, where="post", color=INK, linestyle="--", linewidth=1.3, label="mốc / milestone")
                for day, pct in steps:
                    ax.annotate(f"{pct:g}% {day:%d/%m}", (day, pct), xytext=(-4, 4), textcoords="offset points",
                                fontsize=7, ha="right", color=INK)
            else:
                ax.text(0.5, 0.55, "không có mốc / no milestone", transform=ax.transAxes, ha="center",
                        fontsize=8, color=GREY)
            mine = [p for p in projects if p["project_group"] == group]
            for status, color in PROJECT_COLORS.items():
                pts = [p for p in mine if p["status"] == status]
                if pts:
                    ax.scatter([p["as_of_date"] for p in pts], [float(p["progress_pct"] or 0) for p in pts],
                               color=color, s=22, alpha=0.8, edgecolor="white", linewidth=0.5,
                               label={"on_track": "đúng tiến độ / on track", "behind": "chậm / behind",
                                      "not_due": "chưa đến mốc / not due"}[status])
            if mine:
                plan = sum(float(p["capital_plan_vnd"]) for p in mine)
                done = sum(float(p["disbursed_vnd"]) for p in mine)
                day = max(p["as_of_date"] for p in mine)
                share = 100 * done / plan if plan else 0
                ax.scatter([day], [share], marker="D", s=70, color="#1565c0", zorder=5, label="cả nhóm / group total")
                ax.annotate(f"{share:.1f}%".replace(".", ","), (day, share), xytext=(6, -3),
                            textcoords="offset points", fontsize=8, fontweight="bold", color="#1565c0")
            if as_of:
                ax.axvline(as_of, color=GREY, linewidth=0.8, linestyle=":")
            ax.set_xlim(start, end + dt.timedelta(days=3))
            ax.set_ylim(-3, 108)
            ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=[1, 4, 7, 10]))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%Y"))
            ax.set_title(f"{GROUP_TITLES.get(group, group)} ({len(mine)})", loc="left")
            ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        handles = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, handle)
        fig.legend(handles.values(), handles.keys(), loc="outside upper center", ncol=len(handles), frameon=False,
                   fontsize=8)
        axes[0].set_ylabel("% kế hoạch vốn đã giải ngân\n% of capital plan disbursed")
        return _svg(fig, "disbursement", "Disbursement progress by project group against the milestones")


# --- units ranked (national view) -------------------------------------------------------------------


def unit_bars(rows: list[tuple[str, float]], reference: float | None, reference_label: str, xlabel: str,
              name: str, label: str) -> str:
    """Horizontal bars, one per unit in the given order (the first on top), with a dashed reference line (the
    province's figure); values in %."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 0.28 * len(rows) + 1.1)
        ax = fig.add_subplot()
        names = [n for n, _ in rows][::-1]
        values = [v for _, v in rows][::-1]
        colors = [RED if reference is not None and v < reference else AMBER for v in values]
        bars = ax.barh(names, values, color=colors, height=0.66)
        for bar, value in zip(bars, values, strict=True):
            ax.text(bar.get_width() + 0.8, bar.get_y() + bar.get_height() / 2, f"{value:.1f}".replace(".", ","),
                    va="center", fontsize=7.5, color=INK)
        if reference is not None:
            ax.axvline(reference, color=INK, linestyle="--", linewidth=1.1)
            ax.annotate(f"{reference_label}: {reference:.1f}%".replace(".", ","), (reference, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(3, 2), textcoords="offset points", fontsize=7.5,
                        color=INK)
        ax.set_xlim(0, 108)
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="y", length=0, labelsize=7.5)
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        return _svg(fig, name, label, len(rows))
