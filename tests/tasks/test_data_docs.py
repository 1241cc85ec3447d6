"""GX Data Docs under $CHITIEU_HOME/data_docs, built by the ingest run and printed by `chitieu run`."""

from __future__ import annotations

import datetime as dt
import html

from typer.testing import CliRunner

from apps.cli import app
from flows.ingest import ingest
from tests.feeds import DOSSIER, write_csv

AS_OF = dt.date(2026, 11, 20)


def _page(home, submission_id: int) -> str:
    [path] = (home / "data_docs" / "validations").rglob(f"*-{submission_id}.html")
    return html.unescape(path.read_text(encoding="utf-8"))


def test_each_submission_that_failed_a_check_gets_a_validation_page_and_the_index_lists_it(env):
    inbox, home = env["inbox"], env["home"]
    write_csv(inbox, "TTPVHCC", "dossier", "xau.csv", DOSSIER, [["TTPVHCC", "2026-10", "100", "120", "80", "79"]])
    write_csv(inbox, "SO_KHCN", "dossier", "tot.csv", DOSSIER, [["SO_KHCN", "2026-10", "100", "90", "80", "79"]])
    (inbox / "SO_NOIVU" / "dossier").mkdir(parents=True)
    (inbox / "SO_NOIVU" / "dossier" / "rong.csv").write_text("", encoding="utf-8")
    summary = ingest(as_of=AS_OF)

    index = home / "data_docs" / "index.html"
    assert summary.data_docs == str(index) and index.exists()
    ids = {o.file_name.split("/")[0]: o.submission_id for o in summary.outcomes}
    listing = html.unescape(index.read_text(encoding="utf-8"))
    for name in ("TTPVHCC/dossier/xau.csv", "SO_NOIVU/dossier/rong.csv"):
        assert name in listing
    assert "SO_KHCN/dossier/tot.csv" not in listing  # clean: no page (mart.submission_log has it)
    assert not list((home / "data_docs" / "validations").rglob(f"*-{ids['SO_KHCN']}.html"))
    bad = _page(home, ids["TTPVHCC"])
    assert "«Số hồ sơ trực tuyến» lớn hơn «Tổng số hồ sơ tiếp nhận» (received_online_le_received_total)" in bad
    assert "Failed" in bad and "Succeeded" in bad  # the other expectations of the suite are shown passing
    empty = _page(home, ids["SO_NOIVU"])
    assert "Tệp rỗng (file_not_empty)" in empty
    assert list((home / "data_docs" / "expectations").glob("dossier.html"))


def test_a_run_without_new_files_keeps_the_docs_and_prints_their_path(env):
    write_csv(env["inbox"], "TTPVHCC", "dossier", "a.csv", DOSSIER, [["TTPVHCC", "2026-10", "100", "90", "80", "79"]])
    index = env["home"] / "data_docs" / "index.html"
    first = CliRunner().invoke(app, ["run", "--as-of", AS_OF.isoformat()])
    assert first.exit_code == 0, first.output
    built = index.stat().st_mtime_ns

    again = CliRunner().invoke(app, ["run", "--as-of", AS_OF.isoformat()])
    assert again.exit_code == 0, again.output
    assert f"data docs: {index}" in again.output.replace("\n", "")
    assert index.stat().st_mtime_ns == built

    write_csv(env["inbox"], "SO_KHCN", "dossier", "b.csv", DOSSIER, [["SO_KHCN", "2026-10", "10", "9", "8", "8"]])
    clean = CliRunner().invoke(app, ["run", "--as-of", AS_OF.isoformat()])
    assert clean.exit_code == 0 and "b.csv" in clean.output, clean.output
    assert index.stat().st_mtime_ns == built  # a clean file adds no page: the site is left as it was
