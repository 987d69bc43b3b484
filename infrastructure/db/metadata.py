"""The one MetaData every table is defined on (infrastructure/db/tables.py and the feature tables), with the
constraint naming convention the migrations follow. A module of its own, so that the feature tables need not
import tables.py, which imports them."""
from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
