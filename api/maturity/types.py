"""The maturity figures as the API shows them (domain/maturity.py defines each figure)."""
from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from api.context import Context
from api.maturity.enums import MaturityLevelEnum
from api.organisation.types import Department, load_department
from domain.maturity import COLLABORATIVE, DEPARTMENTAL, ENTERPRISE, Figure, MaturityLevel, describe

__all__ = ["DepartmentMaturity", "Maturity", "MaturityFigure", "MaturityGap", "MaturityWeek"]

NOT_YET = " Not assessed yet: every department and the company show DEPARTMENTAL, the first level, for now."


@strawberry.type(description="One measured figure with its definition. Departmental keys: " + describe(DEPARTMENTAL)
                                + ". Collaborative keys: " + describe(COLLABORATIVE)
                                + ". Enterprise keys (the company's, the same for every department): "
                                + describe(ENTERPRISE))
class MaturityFigure:
    key: str = strawberry.field(description="Stable: clients and reports rely on it")
    label: str
    value: float | None = strawberry.field(description="The value: a share in 0..1, a count, or minutes, as `unit` "
                                                       "says; null where it has no base (no active staff)")
    unit: str
    threshold: float | None = strawberry.field(description="The threshold the next level needs, if this figure "
                                                           "counts toward one (levels: not assessed yet)")
    meets: bool | None

    @classmethod
    def of(cls, figure: Figure) -> "MaturityFigure":
        return cls(key=figure.key, label=figure.label, value=figure.value, unit=figure.unit,
                   threshold=figure.threshold, meets=figure.meets)


@strawberry.type(description="What holds a department (or the company) back, in plain words, with the figure")
class MaturityGap:
    level: MaturityLevelEnum  # type: ignore[valid-type]
    figure: str
    message: str


@strawberry.type
class MaturityWeek:
    week_start: date
    level: MaturityLevelEnum  # type: ignore[valid-type]
    figures: list[MaturityFigure]


@strawberry.type
class DepartmentMaturity:
    level: MaturityLevelEnum = strawberry.field(description="The level the department has reached." + NOT_YET)  # type: ignore[valid-type]
    departmental: list[MaturityFigure]
    collaborative: list[MaturityFigure]
    enterprise: list[MaturityFigure]
    gaps: list[MaturityGap] = strawberry.field(description="At most three, biggest first (not assessed yet: empty)")
    trend: list[MaturityWeek] = strawberry.field(description="The figures per week (not yet: empty)")
    _department_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, department_id: uuid.UUID, figures: list[Figure], collaborative: list[Figure],
           enterprise: list[Figure]) -> "DepartmentMaturity":
        return cls(level=MaturityLevel.DEPARTMENTAL, departmental=[MaturityFigure.of(f) for f in figures],
                   collaborative=[MaturityFigure.of(f) for f in collaborative],
                   enterprise=[MaturityFigure.of(f) for f in enterprise], gaps=[], trend=[], _department_id=department_id)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        department = await load_department(info, self._department_id)
        assert department is not None
        return department


@strawberry.type(description="How far each department has come, from what the service records, over [from, to)")
class Maturity:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    company: MaturityLevelEnum = strawberry.field(description="The company's level." + NOT_YET)  # type: ignore[valid-type]
    company_gaps: list[MaturityGap] = strawberry.field(description="Not assessed yet: empty")
    departments: list[DepartmentMaturity]
