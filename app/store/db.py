"""Store: the playground database, every table's methods on one object.

Each kind of record has its own module (models_table, runs_table, events_table, users_table,
datasets_table), all built on connection.Database, which owns the one connection, its lock
and transactions.
"""

from __future__ import annotations

from app.store.datasets_table import DatasetsTable
from app.store.events_table import EventsTable
from app.store.models_table import ModelsTable
from app.store.runs_table import RunsTable
from app.store.users_table import UsersTable


class Store(ModelsTable, RunsTable, EventsTable, UsersTable, DatasetsTable):
    """Thread-safe access to the playground database in ``data_dir``."""
