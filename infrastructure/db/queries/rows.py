"""What every read model does with rows: answers in the order of the ids asked for, and a text search."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, or_


def in_order(ids: list[uuid.UUID], found: dict[uuid.UUID, Any]) -> list[Any]:
    return [found.get(i) for i in ids]


def contains_text(term: str, *columns: Any) -> ColumnElement[bool]:
    """Any of the columns contains `term`, case-insensitively (LIKE's wildcards in it taken literally)."""
    return or_(*(column.icontains(term, autoescape=True) for column in columns))
