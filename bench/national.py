"""National-scale inputs for the benchmarks: a 3,321-commune catalog and landing zones of generated feeds.

Everything is deterministic (seeded) and written under a scratch folder. Numbers are plain integers and
dates ISO, so that the very same rows can be COPYed raw into PostgreSQL as the floor; headers alternate
between the English names and the Vietnamese labels, and separators between `,` and `;`, as units send them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from chitieu.feeds import feed_spec
from chitieu.vocabulary import PROJECT_GROUPS

__all__ = ["NATIONAL_COMMUNES", "Inbox", "build_catalog", "commune_codes", "write_correction",
           "write_disbursement_inbox", "write_dossier_inbox", "write_next_month"]

NATIONAL_COMMUNES = 3_321
DISBURSEMENT_DATE = "2026-10-31"
NEXT_MONTH_DATE = "2026-11-15"
CORRECTION_LANDED = dt.datetime(2026, 11, 10, 8, tzinfo=dt.UTC)
_GROUPS = PROJECT_GROUPS
_WORKS = ("Đường giao thông thôn", "Trường mầm non", "Nhà văn hóa thôn", "Kênh mương nội đồng", "Trạm y tế xã",
          "Cầu treo bản", "Hệ thống cấp nước sinh hoạt", "Kè chống sạt lở suối")
_PLACES = ("Nà Lừa", "Khòn Pát", "Bản Châu", "Pò Mã", "Tân Thanh", "Đồng Bành", "Hữu Kiên", "Bắc Lãng")


def commune_codes(n: int = NATIONAL_COMMUNES) -> list[str]:
    """Unit codes of the generated communes (`XA_N0001` ...), `n` of them."""
    return [f"XA_N{i:04d}" for i in range(1, n + 1)]


def build_catalog(repo_catalog: Path, out: Path, communes: int = NATIONAL_COMMUNES) -> list[str]:
    """Copy the province's catalog to `out` and top its communes up to `communes`; return every commune code."""
    out.mkdir(parents=True, exist_ok=True)
    for path in repo_catalog.glob("*.csv"):
        shutil.copyfile(path, out / path.name)
    with (repo_catalog / "units.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    existing = [r["unit_code"] for r in rows if r["level"] == "commune"]
    province = next(r["unit_code"] for r in rows if r["level"] == "province")
    added = commune_codes(communes - len(existing))
    with (out / "units.csv").open("a", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for i, code in enumerate(added, start=1):
            writer.writerow([code, f"Xã Mẫu {i:04d}", f"Sample Commune {i:04d}", "commune", province,
                             f"{code.lower()}@bench.example.vn", "true", "dossier disbursement"])
    return existing + added


@dataclass
class Inbox:
    """A generated landing zone and what is in it."""

    root: Path
    files: int
    rows: int
    bytes: int
    copy_csv: Path | None = None   # the same rows, headerless and comma-separated, for the raw COPY floor


def _write(path: Path, header: list[str], rows: list[list], sep: str, landed_at: dt.datetime | None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(data)
    if landed_at is not None:
        os.utime(path, (landed_at.timestamp(), landed_at.timestamp()))
    return len(data)


def _header(feed: str, vietnamese: bool) -> list[str]:
    spec = feed_spec(feed)
    return [c.label_vi if vietnamese else c.name for c in spec.columns]


def _projects(rng: random.Random, unit: str, count: int, date: str) -> list[list]:
    rows = []
    for n in range(1, count + 1):
        plan = rng.randrange(500, 50_000) * 1_000_000
        rows.append([f"{unit}-DA{n:03d}", f"{rng.choice(_WORKS)} {rng.choice(_PLACES)} {n}", unit,
                     rng.choice(_GROUPS), plan, plan * rng.randrange(0, 101) // 100, date])
    return rows


def _disbursement_rows(unit: str, count: int, seed: int = 0) -> list[list]:
    return _projects(random.Random(f"{seed}:{unit}"), unit, count, DISBURSEMENT_DATE)


def write_disbursement_inbox(root: Path, units: list[str], total_rows: int = 1_000_000,
                             copy_csv: Path | None = None) -> Inbox:
    """One disbursement file per unit, `total_rows` project rows in all (about 300 per commune)."""
    base, extra = divmod(total_rows, len(units))
    size = 0
    floor = copy_csv.open("w", encoding="utf-8", newline="") if copy_csv else None
    landed = dt.datetime(2026, 11, 3, 8, tzinfo=dt.UTC)
    try:
        for i, unit in enumerate(units):
            rows = _disbursement_rows(unit, base + (1 if i < extra else 0))
            vietnamese, sep = i % 4 == 1, ";" if i % 3 == 2 else ","
            size += _write(root / unit / "disbursement" / "giai_ngan_2026_10.csv", _header("disbursement", vietnamese),
                           rows, sep, landed + dt.timedelta(seconds=i))
            if floor:
                csv.writer(floor, lineterminator="\n").writerows(rows)
    finally:
        if floor:
            floor.close()
    return Inbox(root, len(units), total_rows, size, copy_csv)


def write_next_month(root: Path, units: list[str], total_rows: int = 1_000_000) -> Inbox:
    """Every unit's next report (as of NEXT_MONTH_DATE), written beside its October file in the same inbox as in
    production: the same projects, each further disbursed by a fifth of its plan (never above it, never below a
    correction's figure), in the same formats as October's."""
    base, extra = divmod(total_rows, len(units))
    size = 0
    landed = dt.datetime(2026, 11, 18, 8, tzinfo=dt.UTC)
    for i, unit in enumerate(units):
        rows = _disbursement_rows(unit, base + (1 if i < extra else 0))
        for row in rows:
            row[5], row[6] = min(row[4], row[5] + row[4] // 5), NEXT_MONTH_DATE
        vietnamese, sep = i % 4 == 1, ";" if i % 3 == 2 else ","
        size += _write(root / unit / "disbursement" / "giai_ngan_2026_11.csv", _header("disbursement", vietnamese),
                       rows, sep, landed + dt.timedelta(seconds=i))
    return Inbox(root, len(units), total_rows, size)


def write_single_file(root: Path, unit: str, rows: int, copy_csv: Path) -> Inbox:
    """One unit's disbursement file of `rows` projects (Vietnamese headers, `;`), and the same rows for COPY."""
    data = _disbursement_rows(unit, rows, seed=100)
    size = _write(root / unit / "disbursement" / "giai_ngan_lon.csv", _header("disbursement", True), data, ";",
                  dt.datetime(2026, 11, 3, 8, tzinfo=dt.UTC))
    with copy_csv.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(data)
    return Inbox(root, 1, rows, size, copy_csv)


def write_correction(root: Path, unit: str, rows_in_unit: int, variant: int = 1) -> Path:
    """The unit's October file again with a tenth of its disbursed amounts raised: a one-unit correction.

    Each `variant` is different bytes landing a day later than the previous one, so corrections can repeat.
    """
    rows = _disbursement_rows(unit, rows_in_unit)
    for row in rows[::10]:
        row[5] = min(row[4], row[5] + variant * row[4] // 50)
    path = root / unit / "disbursement" / f"giai_ngan_2026_10_dinh_chinh_{variant}.csv"
    _write(path, _header("disbursement", False), rows, ",", CORRECTION_LANDED + dt.timedelta(days=variant))
    return path


def write_dossier_inbox(root: Path, units: list[str], period: str = "2026-10") -> Inbox:
    """One small dossier file per unit (one row: the unit's month), as 3,300 communes send them."""
    rng = random.Random(7)
    size = 0
    landed = dt.datetime(2026, 11, 4, 8, tzinfo=dt.UTC)
    for i, unit in enumerate(units):
        received = rng.randrange(50, 3_000)
        online = received * rng.randrange(60, 100) // 100
        resolved = received * rng.randrange(80, 100) // 100
        on_time = resolved * rng.randrange(90, 101) // 100
        surveyed = resolved // 10
        row = [unit, period, received, online, resolved, on_time, surveyed, surveyed * rng.randrange(85, 101) // 100,
               resolved, 3, 3]
        vietnamese, sep = i % 4 == 1, ";" if i % 3 == 2 else ","
        size += _write(root / unit / "dossier" / f"ho_so_{period}.csv", _header("dossier", vietnamese), [row], sep,
                       landed + dt.timedelta(seconds=i))
    return Inbox(root, len(units), len(units), size)
