"""The maturity figures as the API shows them (domain/maturity.py defines each figure)."""
from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.context import Context
from api.maturity.enums import MaturityLevelEnum
from api.organisation.types import Department, load_department
from domain.maturity import (
    COLLABORATIVE,
    DEFINITION_BY_KEY,
    DEPARTMENTAL,
    ENTERPRISE,
    THRESHOLDS,
    Assessment,
    Figure,
    Gap,
    describe,
    describe_thresholds,
)

__all__ = ["DepartmentMaturity", "Maturity", "MaturityFigure", "MaturityGap", "MaturityThreshold", "MaturityWeek",
           "SetMaturityThresholdInput", "MaturityThresholdPayload"]

LEVEL_RULE = (" A department is COLLABORATIVE when every departmental and collaborative figure with a threshold meets "
              "it, ENTERPRISE when every enterprise one does too; a figure without a value holds nothing back, but a "
              "level needs at least one of its shares or medians measured. The company is at the lowest level of "
              "its departments (those the reader sees).")
GAPS = 3


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
    threshold: float | None = strawberry.field(description="The threshold the level it counts toward needs (at "
                                                           "least, or at most for counts of what is wrong, medians "
                                                           "and the lag); null if it counts toward none. Defaults: "
                                                           + describe_thresholds())
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

    @classmethod
    def of(cls, gap: Gap) -> "MaturityGap":
        return cls(level=gap.level, figure=gap.figure, message=gap.message)


@strawberry.type(description="The figures of one calendar week (from Monday 00:00 UTC, cut to the period), and the "
                             "level they reach; the integrations' health and the outbox lag as they are now")
class MaturityWeek:
    week_start: date = strawberry.field(description="The week's Monday")
    level: MaturityLevelEnum  # type: ignore[valid-type]
    figures: list[MaturityFigure] = strawberry.field(description="Every figure, departmental, collaborative and "
                                                                 "enterprise, in that order")

    @classmethod
    def of(cls, week_start: date, assessment: Assessment) -> "MaturityWeek":
        return cls(week_start=week_start, level=assessment.level,
                   figures=[MaturityFigure.of(f) for f in assessment.figures])


@strawberry.type
class DepartmentMaturity:
    level: MaturityLevelEnum = strawberry.field(description="The level the department has reached." + LEVEL_RULE)  # type: ignore[valid-type]
    departmental: list[MaturityFigure]
    collaborative: list[MaturityFigure]
    enterprise: list[MaturityFigure]
    gaps: list[MaturityGap] = strawberry.field(description="At most three, biggest first: the figures that fail a "
                                                           "threshold of a level above the department's, the next "
                                                           "level's first, the furthest from it first")
    trend: list[MaturityWeek] = strawberry.field(description="The same figures per week of the period, first week "
                                                             "first")
    _department_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, department_id: uuid.UUID, assessment: Assessment,
           weeks: list[tuple[date | None, Assessment]]) -> "DepartmentMaturity":
        def group(keys: tuple[str, ...]) -> list[MaturityFigure]:
            return [MaturityFigure.of(f) for f in assessment.figures if f.key in keys]

        return cls(level=assessment.level, departmental=group(_DEPARTMENTAL), collaborative=group(_COLLABORATIVE),
                   enterprise=group(_ENTERPRISE), gaps=[MaturityGap.of(g) for g in assessment.gaps[:GAPS]],
                   trend=[MaturityWeek.of(start, week) for start, week in weeks if start is not None],
                   _department_id=department_id)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        department = await load_department(info, self._department_id)
        assert department is not None
        return department


@strawberry.type(description="How far each department has come, from what the service records, over [from, to)")
class Maturity:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    company: MaturityLevelEnum = strawberry.field(description="The company's level: the lowest of its departments'")  # type: ignore[valid-type]
    company_gaps: list[MaturityGap] = strawberry.field(description="At most three, biggest first: the biggest gaps "
                                                                   "of the departments at the company's level")
    departments: list[DepartmentMaturity]


_DEPARTMENTAL, _COLLABORATIVE, _ENTERPRISE = (tuple(d.key for d in group) for group in (
    DEPARTMENTAL, COLLABORATIVE, ENTERPRISE))


@strawberry.type(description="What a level needs of one figure; an ADMIN adjusts it with setMaturityThreshold")
class MaturityThreshold:
    key: str
    label: str
    level: MaturityLevelEnum = strawberry.field(description="The level that needs it")  # type: ignore[valid-type]
    at_most: bool = strawberry.field(description="The figure must stay at or below the value (else reach it)")
    value: float
    default_value: float

    @classmethod
    def all(cls, limits: dict[str, float]) -> list["MaturityThreshold"]:
        return [cls(key=th.key, label=DEFINITION_BY_KEY[th.key].label, level=th.level, at_most=th.at_most,
                    value=limits[th.key], default_value=th.default) for th in THRESHOLDS]


@strawberry.input
class SetMaturityThresholdInput:
    key: str
    value: float | None = strawberry.field(description="Null: back to the default")


@strawberry.type
class MaturityThresholdPayload:
    thresholds: list[MaturityThreshold] | None
    user_errors: list[UserError]
