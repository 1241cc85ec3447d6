"""The report's inline stylesheet (system fonts only, print-friendly)."""

__all__ = ["CSS"]

CSS = """
:root { --ink: #263238; --muted: #607d8b; --line: #e3e8eb; --bg: #f6f8f9; --met: #2e7d32; --not: #c62828;
        --none: #78909c; --warn: #ef8f00; --accent: #1565c0; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 28px 40px; }
header { border-bottom: 3px solid var(--not); padding-bottom: 12px; margin-bottom: 16px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--not); font-weight: 600; }
h1 { margin: 4px 0 2px; font-size: 28px; line-height: 1.2; }
h1 .en { display: block; font-size: 17px; font-weight: 400; color: var(--muted); margin-top: 4px; }
h2 { font-size: 20px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h2 .vi { font-weight: 400; color: var(--muted); font-size: 16px; margin-left: 6px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta, .note, .legend { color: var(--muted); font-size: 13px; margin: 6px 0 10px; }
.en { color: var(--muted); font-size: 12px; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #eef2f4;
       padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
nav { margin: 14px 0 18px; display: flex; gap: 8px; flex-wrap: wrap; }
nav a { color: var(--accent); text-decoration: none; border: 1px solid #c5d5e8; border-radius: 14px;
        padding: 3px 12px; background: #fff; font-size: 13px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px;
          margin-bottom: 20px; }
.cards { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-left: 5px solid var(--accent);
        border-radius: 6px; padding: 10px 14px; }
.card .big { font-size: 28px; font-weight: 700; line-height: 1.1; }
.card.met { border-left-color: var(--met); } .card.met .big { color: var(--met); }
.card.not_met { border-left-color: var(--not); } .card.not_met .big { color: var(--not); }
.card.no_data { border-left-color: var(--none); } .card.no_data .big { color: var(--none); }
.card.not_due { border-left-color: var(--warn); } .card.not_due .big { color: var(--warn); }
.card.warn { border-left-color: var(--warn); } .card.warn .big { color: var(--warn); }
.overview { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px; align-items: start; }
.overview ol { margin: 4px 0 0; padding-left: 22px; } .overview li { margin-bottom: 6px; }
.overview a { color: inherit; text-decoration: none; }
h3 .vi { font-weight: 400; color: var(--muted); font-size: 13px; }
table.targets { table-layout: fixed; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 4px 0 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #eef2f4; font-size: 12px; color: #37474f; position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
thead th.num { white-space: normal; }
tr.group th { background: #fafbfc; font-size: 14px; padding-top: 12px; border-bottom: 2px solid var(--line); }
.code { font: 12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; color: var(--muted); }
td.code { white-space: nowrap; }
td.src { font-size: 12px; }
td.file { font-size: 12px; max-width: 280px; overflow-wrap: anywhere; }
td.sample { font: 11.5px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; color: #455a64;
            max-width: 330px; overflow-wrap: anywhere; }
.badge { display: inline-block; white-space: nowrap; border-radius: 12px; padding: 1px 9px; font-size: 12px;
         font-weight: 600; color: #fff; }
.badge.met { background: var(--met); } .badge.not_met { background: var(--not); }
.badge.no_data { background: var(--none); } .badge.not_due { background: var(--warn); }
.pace { font-size: 12px; color: var(--muted); margin-top: 2px; }
.sev { font-size: 12px; font-weight: 600; } .sev.error { color: var(--not); } .sev.warning { color: var(--warn); }
.pill { display: inline-block; border-radius: 10px; padding: 0 8px; background: #eef2f4; font-size: 12.5px; }
.pill.rejected { background: #ffcdd2; } .pill.loaded_with_warnings { background: #ffe0b2; }
.pill.loaded { background: #c8e6c9; }
td.ok { color: var(--met); } td.bad { color: var(--not); font-weight: 600; }
table.compact td, table.compact th { padding: 4px 7px; }
table.grid td, table.grid th { padding: 3px 5px; font-size: 12px; }
table.grid td.cell, table.grid th.cell { text-align: center; width: 44px; }
td.cell.ok { background: #c8e6c9; color: #1b5e20; } td.cell.late { background: #ffe0b2; color: #8a4b00; }
td.cell.miss { background: #ffcdd2; color: #b71c1c; font-weight: 700; } td.cell.open { background: #f4f4f4; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin: 0 4px 0 10px;
      vertical-align: -1px; border: 1px solid #d0d7db; }
.sw.met { background: #c8e6c9; } .sw.close { background: #ffe0b2; } .sw.below { background: #ffcdd2; }
.sw.none { background: #f4f4f4; }
.empty { color: var(--muted); font-style: italic; }
.province-line { font-size: 15px; margin: 6px 0 10px; }
.rankings { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 6px 18px; }
.rankings h4, .unit-list h4 { font-size: 13.5px; margin: 14px 0 4px; }
.rankings ol { margin: 0; padding-left: 22px; font-size: 12.5px; } .ranking.worst h4 { color: var(--not); }
.ranking.best h4 { color: var(--met); }
p.search { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
input.unit-search { font: inherit; padding: 5px 9px; min-width: 280px; border: 1px solid #b0bec5; border-radius: 5px; }
.unit-count { color: var(--muted); font-size: 13px; }
table.sortable td[data-value] { text-align: right; white-space: nowrap; }
.scroll { max-height: 560px; overflow: auto; border: 1px solid var(--line); }
table.sortable th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0;
                           cursor: pointer; text-align: inherit; }
table.sortable th[aria-sort=ascending] button::after { content: " ▲"; }
table.sortable th[aria-sort=descending] button::after { content: " ▼"; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 12px; }
@media print { body { background: #fff; } section { break-inside: avoid-page; border: none; }
               thead th { position: static; } nav, p.search { display: none; }
               .scroll { max-height: none; overflow: visible; } }
@media (max-width: 900px) { .cards { grid-template-columns: repeat(2, 1fr); } }
"""
