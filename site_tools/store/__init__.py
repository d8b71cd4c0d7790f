"""Everything the system remembers: SQLite or PostgreSQL, numbered migrations, one repository per concern."""

from site_tools.store.core import Store

__all__ = ["Store"]
