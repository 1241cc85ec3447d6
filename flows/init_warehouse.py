"""Flow: create or upgrade the warehouse schema and load the catalog."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from chitieu.catalog import load_catalog, read_catalog
from chitieu.config import Settings, load_settings
from chitieu.warehouse import apply_migrations, get_engine

__all__ = ["init_warehouse"]


@task(name="apply_migrations", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def migrate(settings: Settings) -> list[str]:
    """Apply pending migrations; return their names."""
    return apply_migrations(get_engine(settings, create=True))


@task(name="load_catalog", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def upsert_catalog(settings: Settings) -> dict[str, int]:
    """Read, check and upsert the catalog; return rows changed per table."""
    catalog = read_catalog(settings.catalog_dir)
    with get_engine(settings).begin() as conn:
        return load_catalog(conn, catalog)


@flow(name="init-warehouse")
def init_warehouse() -> dict:
    """Schema first, then the catalog (refused whole if any file is malformed)."""
    settings = load_settings()
    read_catalog(settings.catalog_dir)  # fail fast, before touching the warehouse
    applied = migrate(settings)
    changed = upsert_catalog(settings)
    return {"migrations": applied, "catalog_changes": changed}
