"""One error hierarchy for chitieu; every error carries where it happened."""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "ChitieuError",
    "ConfigError",
    "FeedError",
    "FileRejected",
    "LandingZoneMissing",
    "MigrationEdited",
    "WarehouseError",
    "WarehouseNotInitialised",
    "WarehouseUnavailable",
]


class ChitieuError(Exception):
    """Something chitieu itself detected and can explain in one line."""


# --- configuration and reference data -------------------------------------------------


class ConfigError(ChitieuError):
    """A setting or command-line argument is invalid."""


class LandingZoneMissing(ConfigError):
    """The landing zone folder does not exist (a wrong CHITIEU_INBOX, an unmounted share): the pass cannot run."""

    def __init__(self, folder: str):
        self.folder = folder
        super().__init__(f"landing zone {folder} does not exist or is not a folder"
                         " (check CHITIEU_INBOX, --inbox or the flow's inbox parameter; is the share mounted?)")


class CatalogError(ChitieuError):
    """A catalog file is malformed; names the file, line and column."""

    def __init__(self, file: str, line: int | None, column: str | None, problem: str):
        self.file, self.line, self.column, self.problem = file, line, column, problem
        where = file + (f", line {line}" if line is not None else "") + (f", column {column}" if column else "")
        super().__init__(f"{where}: {problem}")


# --- feeds ----------------------------------------------------------------------------


class FeedError(ChitieuError):
    """A landed file could not be read as a feed."""


class FileRejected(FeedError):
    """The whole file is unreadable (encoding, shape, empty); names the file and, if known, row/column."""

    def __init__(self, file: str, problem: str, *, row: int | None = None, column: str | None = None,
                 check: str = "file_readable", problem_vi: str | None = None):
        self.file, self.problem, self.row, self.column, self.check = file, problem, row, column, check
        self.problem_vi = problem_vi  # the unit's words, when more precise than chitieu.messages_vi's for `check`
        where = file + (f", row {row}" if row is not None else "") + (f", column {column}" if column else "")
        super().__init__(f"{where}: {problem}")


# --- warehouse ------------------------------------------------------------------------


class WarehouseError(ChitieuError):
    """The warehouse refused an operation."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be reached or started."""


class WarehouseNotInitialised(WarehouseError):
    """The warehouse has no chitieu schema, or an older one than this code: `chitieu init` creates or upgrades it."""


class MigrationEdited(WarehouseError):
    """A migration file differs from the one applied to the warehouse: applied migrations are never edited."""
