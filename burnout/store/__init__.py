"""Storage: schema, engine with migrations, bulk writers and frame readers."""
from burnout.store.engine import database_url, get_engine, is_empty, make_engine, migrate  # noqa: F401
