from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.common.compiled import Precompiled, input_query, selection
from api.common.errors import api_error, forbidden, read
from api.common.relay import Connection, decode_id, decode_optional_id, page_request
from api.complaints.inputs import ComplaintFilter
from api.complaints.types import BusinessCalendar, Complaint, ComplaintCategory, SlaPolicy, SlaReport, SlaReportRow
from api.context import Context
from api.nodes import Children, register_children
from application.queries.complaints import ComplaintFilter as ComplaintFilterQuery
from application.queries.complaints import ComplaintView
from application.queries.pagination import Page
from domain.shared import InvalidInput

MAX_REPORT_DAYS = 3660


async def list_complaints(info: Info[Context, None], filter: ComplaintFilter | None, first: int | None,
                          after: str | None, last: int | None, before: str | None) -> Connection[Complaint]:
    """The complaints the caller may see, newest first."""
    ctx = info.context

    async def run():  # type: ignore[no-untyped-def]
        query = filter.to_query() if filter else ComplaintFilterQuery()
        request = page_request(first, after, last, before)
        fields = selection(info)
        if fields is not None and not request.backward:
            document = await ctx.documents.complaints(fields, query, request, scope_of=ctx.loaders.complaint_scope)
            if document is not None:
                return Precompiled(document)
        return await ctx.complaints.list(await ctx.loaders.complaint_scope(), query, request, ctx.clock.now())

    found = await read(run)
    if isinstance(found, Precompiled):
        return found  # type: ignore[return-value]
    return Connection.from_page(found, Complaint.from_view)


async def complaints_of(info: Info[Context, None], of: Children) -> Connection[Complaint]:
    """One customer's or order's complaints the caller may see (Customer.complaints, Order.complaints: all
    parents of a page in one batch); the parent's own id wins over one in the filter."""
    ctx = info.context

    async def run():  # type: ignore[no-untyped-def]
        query = dataclasses.replace(of.filter.to_query() if of.filter else ComplaintFilterQuery(),
                                    **{f"{of.parent}_id": None})
        request = page_request(of.first, of.after, of.last, of.before)

        async def fetch(parent_ids: list[uuid.UUID]) -> list[Page[ComplaintView]]:
            return await ctx.complaints.list_per(await ctx.loaders.complaint_scope(), query, of.parent, parent_ids,
                                                 request, ctx.clock.now())

        return await ctx.loaders.page(("complaints", of.parent, query, request), fetch).load(of.parent_id)

    return Connection.from_page(await read(run), Complaint.from_view)


register_children("Complaint", complaints_of)


def complaints_filter(arguments: dict[str, Any]) -> ComplaintFilterQuery:
    return input_query(arguments, "filter", ComplaintFilter, ComplaintFilterQuery())


@strawberry.type
class ComplaintQuery:
    @strawberry.field(description="A complaint by id or number; null when it does not exist or is not yours to see")
    async def complaint(self, info: Info[Context, None], id: strawberry.ID | None = None,
                        number: str | None = None) -> Complaint | None:
        if (id is None) == (number is None):
            raise api_error("Give exactly one of id or number.", "INVALID")
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            if id is not None:
                return await ctx.loaders.complaint_by_id.load(decode_id(id, "Complaint", "id"))
            return await ctx.complaints.by_number(number or "", await ctx.loaders.complaint_scope())

        view = await read(run)
        return Complaint.from_view(view) if view else None

    @strawberry.field(description="Complaints the caller may see, newest first")
    async def complaints(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                         last: int | None = None, before: str | None = None,
                         filter: ComplaintFilter | None = None) -> Connection[Complaint]:
        return await list_complaints(info, filter, first, after, last, before)

    @strawberry.field
    async def complaint_categories(self, info: Info[Context, None]) -> list[ComplaintCategory]:
        return [ComplaintCategory.from_view(v) for v in await info.context.complaints.categories()]

    @strawberry.field
    async def sla_policies(self, info: Info[Context, None]) -> list[SlaPolicy]:
        return [SlaPolicy.from_view(v) for v in await info.context.complaints.policies()]

    @strawberry.field
    async def calendars(self, info: Info[Context, None]) -> list[BusinessCalendar]:
        return [BusinessCalendar.from_view(v) for v in await info.context.complaints.calendars()]

    @strawberry.field(name="slaReport", description="Per category, over complaints filed in [from, to): filed, "
                      "resolved, breaches and the median business minutes to resolve. For those who see all "
                      "complaints, and for a department's own staff about their department")
    async def sla_report(self, info: Info[Context, None], from_: Annotated[datetime, strawberry.argument(name="from")],
                         to: datetime, department_id: strawberry.ID | None = None) -> SlaReport:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            department = decode_optional_id(department_id, "Department", "departmentId")
            if to <= from_:
                raise InvalidInput("to must be after from.", field=("to",))
            if (to - from_).days > MAX_REPORT_DAYS:
                raise InvalidInput(f"A report spans at most {MAX_REPORT_DAYS} days.", field=("to",))
            scope = await ctx.loaders.complaint_scope()
            if not scope.sees_all and (department is None or department != scope.department_id):
                raise forbidden()
            return await ctx.complaints.sla_report(from_, to, department)

        rows = await read(run)
        return SlaReport(from_=from_, to=to, rows=[SlaReportRow.from_view(r) for r in rows])
