"""The archive: one pack per batch of new files, read back by reruns; archives of the older layout still read."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile

import pytest
import sqlalchemy as sa

from chitieu.config import load_settings
from chitieu.landing import LandedFile
from chitieu.packs import read_member
from flows.ingest import ingest
from tasks.archive import PACKER_MIN_FILES, archive_files, pack_path
from tests.feeds import DOSSIER, write_csv

AS_OF = dt.date(2026, 11, 20)


def _landed(tmp_path, count: int, unique: int | None = None) -> list[LandedFile]:
    """`count` files of `unique` distinct contents (all distinct by default)."""
    files = []
    for i in range(count):
        body = f"ma_don_vi,ky\nXA_{i % (unique or count)},2026-10\n".encode()
        path = tmp_path / "inbox" / f"U{i}" / "dossier" / f"f{i}.CSV"
        path.parent.mkdir(parents=True)
        path.write_bytes(body)
        files.append(LandedFile(path, f"U{i}/dossier/f{i}.CSV", f"U{i}", "dossier", hashlib.sha256(body).hexdigest(),
                                len(body), dt.datetime(2026, 11, 1, tzinfo=dt.UTC)))
    return files


@pytest.mark.parametrize("count", [3, PACKER_MIN_FILES + 7], ids=["in process", "packer process"])
def test_a_batch_becomes_one_pack_that_reads_back(env, tmp_path, count):
    files = _landed(tmp_path, count, unique=count - 2)  # two contents landed twice: kept once
    settings = load_settings()
    pack = archive_files.fn(settings, files)
    assert pack == str(pack_path(files, settings.archive_dir))
    with zipfile.ZipFile(pack) as archive:
        assert len(archive.namelist()) == count - 2
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    for f in files:
        archived = LandedFile(pack_path(files, settings.archive_dir), f.rel_path, f.unit_code, f.feed, f.sha256,
                              f.size_bytes, f.received_at, f"{f.sha256}.csv")
        assert archived.exists() and archived.extension == ".csv"
        assert archived.read_bytes() == f.path.read_bytes()
    mtime = pack_path(files, settings.archive_dir).stat().st_mtime_ns
    assert archive_files.fn(settings, list(reversed(files))) == pack  # same members, any order: left in place
    assert pack_path(files, settings.archive_dir).stat().st_mtime_ns == mtime
    assert not [p for p in settings.archive_dir.rglob("*") if p.name.endswith(".part")]


@pytest.mark.parametrize("count", [3, PACKER_MIN_FILES + 7], ids=["in process", "packer process"])
def test_a_failed_pack_leaves_nothing(env, tmp_path, count):
    files = _landed(tmp_path, count)
    files[-1].path.unlink()  # vanished between discovery and archiving
    settings = load_settings()
    with pytest.raises(OSError):
        archive_files.fn(settings, files)
    assert not [p for p in settings.archive_dir.rglob("*") if p.is_file()]


def test_member_missing_from_its_pack_is_not_found(env, tmp_path):
    files = _landed(tmp_path, 2)
    settings = load_settings()
    pack = archive_files.fn(settings, files[:1])
    f = files[1]
    stray = LandedFile(pack, f.rel_path, f.unit_code, f.feed, f.sha256, f.size_bytes, f.received_at, f"{f.sha256}.csv")
    assert not stray.exists()
    with pytest.raises(KeyError):
        stray.read_bytes()


def test_rerun_reads_packs_and_the_older_one_file_per_copy_layout(env, engine, tmp_path):
    from flows.rerun import rerun

    write_csv(env["inbox"], "TTPVHCC", "dossier", "a.csv", DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5]])
    ingest(as_of=AS_OF)
    with engine.connect() as conn:
        sid, path, member = conn.execute(sa.text(
            "select submission_id, archive_path, archive_member from audit.submission")).one()
    assert member.endswith(".csv") and path.endswith(".zip")
    assert [o.status for o in rerun(unit="TTPVHCC", feed="dossier", as_of=AS_OF).outcomes] == ["loaded"]

    # a submission archived before packs: its own file, no member
    old = tmp_path / "old_archive" / member
    old.parent.mkdir()
    old.write_bytes(read_member(path, member))
    with engine.begin() as conn:
        conn.execute(sa.text("update audit.submission set archive_path = :p, archive_member = null"
                             " where submission_id = :sid"), {"p": str(old), "sid": sid})
    assert [o.status for o in rerun(unit="TTPVHCC", feed="dossier", as_of=AS_OF).outcomes] == ["loaded"]
    old.unlink()
    with pytest.raises(Exception, match="archived copy missing"):
        rerun(unit="TTPVHCC", feed="dossier", as_of=AS_OF)
