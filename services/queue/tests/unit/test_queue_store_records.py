"""The stores' typed records name every column of their table, with the column's nullability and
Python type, so mypy sees every column a store hands out (a new column must be added to the record)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing

import pytest
from sambang_queue.models import application, visit
from sambang_queue.stores.applications import ApplicationRecord, ApplicationUpdate
from sambang_queue.stores.visits import VisitRecord
from sqlalchemy import Table, TypeDecorator
from sqlalchemy.types import TypeEngine


def _python_type(column_type: TypeEngine[object]) -> type:
    """The Python type of a column (a decorated type's is its implementation's: UtcDateTime's is datetime)."""
    if isinstance(column_type, TypeDecorator):
        return _python_type(column_type.impl_instance)
    return column_type.python_type


@pytest.mark.parametrize(("record", "table"), [(ApplicationRecord, application), (VisitRecord, visit)])
def test_a_record_has_exactly_its_tables_columns_with_their_types(record: type, table: Table) -> None:
    hints = typing.get_type_hints(record)
    assert list(hints) == [c.name for c in table.columns]
    for column in table.columns:
        hint = hints[column.name]
        args = typing.get_args(hint)
        nullable = type(None) in args
        assert nullable == bool(column.nullable), column.name
        base = next(a for a in args if a is not type(None)) if nullable else hint
        expected = _python_type(column.type)
        assert base is expected, (column.name, base, expected)


def test_an_update_names_only_columns_of_the_application() -> None:
    names = {f.name for f in dataclasses.fields(ApplicationUpdate)}
    assert names <= {c.name for c in application.columns}
    assert "status" not in names and "active" not in names  # the status moves only through set_status


def test_records_are_frozen() -> None:
    checked_in = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    record = VisitRecord(
        id="v1",
        receipt_number="BLT2612010000001",
        office="BLT",
        day=checked_in.date(),
        purpose="SERVICE",
        lane="REGULAR",
        ticket="A001",
        seat=None,
        priority_category="NONE",
        channel="KIOSK",
        paid=True,
        stage="VERIFICATION",
        state="WAITING",
        counter=None,
        calls=0,
        called_at=None,
        first_called_at=None,
        claimed_by=None,
        claimed_at=None,
        checked_in_at=checked_in,
        completed_at=None,
        estimate_low_minutes=None,
        estimate_high_minutes=None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.state = "DONE"  # type: ignore[misc]
