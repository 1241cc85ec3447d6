"""Feed formats (expectations/feeds.json): columns, Vietnamese labels, keys, slices, header matching."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["EXPECTATIONS_DIR", "Column", "FeedSpec", "feed_spec", "normalize_header"]

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"


def normalize_header(text: object) -> str:
    """Fold a header for matching: no diacritics, no case, no spacing or punctuation (`Mã đơn vị` -> `madonvi`)."""
    folded = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", folded.lower())


@dataclass(frozen=True)
class Column:
    name: str
    label_vi: str
    type: str
    required: bool


@dataclass(frozen=True)
class FeedSpec:
    """One feed's format."""

    feed: str
    label_vi: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    slice: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def label(self, name: str) -> str:
        """Vietnamese label of a column (or the name itself for computed columns)."""
        return next((c.label_vi for c in self.columns if c.name == name), name)

    @property
    def header_lookup(self) -> dict[str, str]:
        """Folded English name or Vietnamese label -> column name."""
        lookup = {}
        for c in self.columns:
            lookup[normalize_header(c.name)] = c.name
            lookup[normalize_header(c.label_vi)] = c.name
        return lookup


@lru_cache(maxsize=1)
def _specs() -> dict[str, FeedSpec]:
    raw = json.loads((EXPECTATIONS_DIR / "feeds.json").read_text(encoding="utf-8"))
    return {
        feed: FeedSpec(feed, body["label_vi"], tuple(Column(**c) for c in body["columns"]),
                       tuple(body["key"]), tuple(body["slice"]))
        for feed, body in raw.items() if not feed.startswith("_")
    }


def feed_spec(feed: str) -> FeedSpec:
    return _specs()[feed]
