"""One polling process per SQLite file. Each bot process keeps its own cache of conversations, so a second one
on the same file would overwrite residents' drafts with stale copies; SQLite also allows one writer only. An
exclusive lock on a file next to the database refuses the second process (several processes need PostgreSQL).
The operating system releases the lock when the process ends, also after kill -9."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class DatabaseInUse(RuntimeError):
    """Another process polls with this SQLite file; the message is one line for the operator."""


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and for in-memory SQLite."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


def lock_database(database_url: str) -> IO[str] | None:
    """Take the database's polling lock and keep the returned file open while polling; None when no lock is
    needed (PostgreSQL). Raises DatabaseInUse when another process holds it."""
    path = sqlite_path(database_url)
    if path is None:
        return None
    lock_file = open(path.with_name(path.name + ".lock"), "a+")
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        lock_file.close()
        raise DatabaseInUse(
            f"another bot process is already running on {path}; stop it first, or use PostgreSQL "
            f"(DATABASE_URL=postgresql+asyncpg://...) to run several processes") from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return lock_file
