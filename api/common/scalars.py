"""Scalars named as the contract names them: DateTime, Date, Decimal, JSON, Upload."""
from __future__ import annotations

from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

__all__ = ["JSON", "Upload"]
