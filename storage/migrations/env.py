"""Alembic environment. Migrations run from storage.db.migrate with a live connection."""

from alembic import context
from sqlalchemy import create_engine

import storage.models  # noqa: F401  (registers every table on the metadata)
from storage.models import metadata

config = context.config


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    """APScheduler keeps its own table (apscheduler_jobs) in our database: not ours to migrate or drop."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    # `alembic revision --autogenerate` from a shell: -x url=sqlite:///dev.db
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///manabalss-dev.db")
    with create_engine(url).connect() as sync_connection:
        _configure(sync_connection)
        sync_connection.commit()
