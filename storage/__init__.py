"""All SQL lives here: the SQLite connection, migrations and one repository per aggregate."""

from storage.db import Database, Session

__all__ = ["Database", "Session"]
