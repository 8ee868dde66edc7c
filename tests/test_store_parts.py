"""Store is joined from one class per kind of record: no part may shadow another's names."""

from itertools import combinations

from app.store import Store
from app.store.connection import Database


def _own_names(part: type) -> set[str]:
    return {name for name in vars(part) if not name.startswith("__")}


def test_the_parts_of_store_define_disjoint_names() -> None:
    parts = [part for part in Store.__mro__ if part not in (Store, object)]
    assert parts[-1] is Database and all(issubclass(part, Database) for part in parts)
    for first, second in combinations(parts, 2):
        shared = _own_names(first) & _own_names(second)
        assert not shared, f"{first.__name__} and {second.__name__} both define {shared}"


def test_store_adds_nothing_of_its_own() -> None:
    assert not _own_names(Store) - {"__doc__"}
