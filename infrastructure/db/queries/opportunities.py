"""SQL read models of the sales pipeline."""
from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Any, Awaitable, Callable

from sqlalchemy import case, func, select

from application.queries.opportunities import (
    ForecastGroup,
    ForecastRowView,
    ForecastScope,
    OpportunityFilter,
    OpportunityStageChangeView,
    OpportunityStageView,
    OpportunityView,
    PipelineCell,
    PipelinePageRequest,
    SourcedView,
)
from application.queries.pagination import Page, PageRequest
from domain.opportunity import OpportunityStageKind
from infrastructure.db.exact_sum import exact_sum, exact_sum_value
from infrastructure.db.opportunity_tables import opportunities, opportunity_stage_changes, opportunity_stages
from infrastructure.db.order_tables import MONEY
from infrastructure.db.queries.keyset import SortKey, paginate, paginate_each, union_pages
from infrastructure.db.queries.rows import in_order
from infrastructure.db.reads import SqlReadModel

op, st, sc = opportunities, opportunity_stages, opportunity_stage_changes
OPPORTUNITY_COLUMNS = [op.c.id, op.c.number, op.c.name, op.c.customer_id, op.c.owner_id, op.c.department_id,
                       op.c.stage_id, op.c.currency, op.c.amount, op.c.probability, op.c.weighted_amount,
                       op.c.expected_close_date, op.c.campaign_id, op.c.lost_reason, op.c.order_id, op.c.created_at,
                       op.c.version]
NEWEST_FIRST = [SortKey(op.c.created_at, datetime), SortKey(op.c.id, uuid.UUID)]
SCALE = MONEY[1]


def _stages_of_kind(*kinds: OpportunityStageKind) -> Any:
    return select(st.c.id).where(st.c.kind.in_([k.value for k in kinds])).scalar_subquery()


def opportunity_filter(filter: OpportunityFilter) -> list[Any]:
    """The filter as WHERE criteria on `opportunities` (shared by the list, the board and its columns)."""
    criteria = []
    if filter.customer_id is not None:
        criteria.append(op.c.customer_id == filter.customer_id)
    if filter.owner_id is not None:
        criteria.append(op.c.owner_id == filter.owner_id)
    if filter.stage_ids:
        criteria.append(op.c.stage_id.in_(filter.stage_ids))
    if filter.campaign_id is not None:
        criteria.append(op.c.campaign_id == filter.campaign_id)
    if filter.closing_from is not None:
        criteria.append(op.c.expected_close_date >= filter.closing_from)
    if filter.closing_to is not None:
        criteria.append(op.c.expected_close_date <= filter.closing_to)
    if filter.open is True:
        criteria.append(op.c.stage_id.in_(_stages_of_kind(OpportunityStageKind.OPEN)))
    elif filter.open is False:
        criteria.append(op.c.stage_id.in_(_stages_of_kind(OpportunityStageKind.WON, OpportunityStageKind.LOST)))
    return criteria


def filtered(query: Any, filter: OpportunityFilter) -> Any:
    return query.where(*opportunity_filter(filter))


def opportunity_view(r: Any) -> OpportunityView:
    return OpportunityView(**{c.key: getattr(r, c.key) for c in OPPORTUNITY_COLUMNS})


def stage_view(r: Any) -> OpportunityStageView:
    return OpportunityStageView(id=r.id, name=r.name, position=r.position, probability=r.probability, kind=r.kind)


class SqlOpportunityQueries(SqlReadModel):
    async def list(self, filter: OpportunityFilter, page: PageRequest) -> Page[OpportunityView]:
        return await paginate(self._reads, filtered(select(*OPPORTUNITY_COLUMNS), filter), NEWEST_FIRST,
                              descending=True, page=page, to_item=opportunity_view)

    async def list_for_customers(self, filter: OpportunityFilter, customer_ids: list[uuid.UUID],
                                 page: PageRequest) -> list[Page[OpportunityView]]:
        query = filtered(select(*OPPORTUNITY_COLUMNS), dataclasses.replace(filter, customer_id=None))
        return await paginate_each(self._reads, query, op.c.customer_id, customer_ids, NEWEST_FIRST,
                                   descending=True, page=page, to_item=opportunity_view)

    async def by_ids(self, ids: list[uuid.UUID]) -> list[OpportunityView | None]:
        rows = await self._all(select(*OPPORTUNITY_COLUMNS).where(op.c.id.in_(ids)))
        return in_order(ids, {r.id: opportunity_view(r) for r in rows})

    async def by_number(self, number: str) -> OpportunityView | None:
        rows = await self._all(select(*OPPORTUNITY_COLUMNS).where(op.c.number == number.strip().upper()))
        return opportunity_view(rows[0]) if rows else None

    async def stages(self) -> list[OpportunityStageView]:
        return [stage_view(r) for r in await self._all(select(st).order_by(st.c.position, st.c.name))]

    async def history(self, ids: list[uuid.UUID]) -> list[list[OpportunityStageChangeView]]:
        found: dict[uuid.UUID, list[OpportunityStageChangeView]] = defaultdict(list)
        for r in await self._all(select(sc).where(sc.c.opportunity_id.in_(ids))
                                 .order_by(sc.c.opportunity_id, sc.c.position)):
            found[r.opportunity_id].append(OpportunityStageChangeView(from_stage_id=r.from_stage_id,
                                                                      to_stage_id=r.to_stage_id, at=r.at, by=r.by))
        return [found.get(i, []) for i in ids]

    async def pipeline(self, filter: OpportunityFilter) -> list[PipelineCell]:
        """One GROUP BY stage, currency; sums exact on both stores (infrastructure/db/exact_sum.py)."""
        dialect = self._reads.dialect
        stmt = filtered(select(op.c.stage_id, op.c.currency, func.count().label("n"),
                               *exact_sum(op.c.amount, "amount", SCALE, dialect),
                               *exact_sum(op.c.weighted_amount, "weighted", SCALE, dialect)), filter) \
            .group_by(op.c.stage_id, op.c.currency)
        return [PipelineCell(r.stage_id, r.currency, r.n, exact_sum_value(r, "amount", SCALE, dialect),
                             exact_sum_value(r, "weighted", SCALE, dialect)) for r in await self._all(stmt)]

    async def pipeline_pages(self, requests: list[PipelinePageRequest]) -> list[Page[OpportunityView]]:
        return await union_pages(self._reads, requests,
                                 lambda r: filtered(select(*OPPORTUNITY_COLUMNS), r.filter)
                                 .where(op.c.stage_id == r.stage_id),
                                 NEWEST_FIRST, descending=True, page_of=lambda r: r.page, to_item=opportunity_view,
                                 count_for=self._counter)

    def _counter(self, request: PipelinePageRequest) -> Callable[[], Awaitable[int]]:
        async def count() -> int:
            stmt = filtered(select(func.count()).select_from(op), request.filter) \
                .where(op.c.stage_id == request.stage_id)
            return int(await self._reads.scalar(stmt))

        return count

    async def forecast(self, closing_from: date, closing_to: date, group: ForecastGroup,
                       scope: ForecastScope) -> list[ForecastRowView]:
        """One GROUP BY key, currency over the deals joined to their stage's kind; conditional exact sums."""
        dialect = self._reads.dialect
        if group is ForecastGroup.MONTH:
            key: Any = (func.to_char(op.c.expected_close_date, "YYYY-MM") if dialect == "postgresql"
                        else func.substr(op.c.expected_close_date, 1, 7))
        else:
            key = op.c.owner_id if group is ForecastGroup.OWNER else op.c.department_id
        is_open = st.c.kind == OpportunityStageKind.OPEN.value
        is_won = st.c.kind == OpportunityStageKind.WON.value
        stmt = select(key.label("key"), op.c.currency, func.count().label("n"),
                      *exact_sum(case((is_open, op.c.amount)), "open", SCALE, dialect),
                      *exact_sum(case((is_open, op.c.weighted_amount)), "weighted", SCALE, dialect),
                      *exact_sum(case((is_won, op.c.amount)), "won", SCALE, dialect)) \
            .select_from(op.join(st, st.c.id == op.c.stage_id)) \
            .where(op.c.expected_close_date >= closing_from, op.c.expected_close_date <= closing_to,
                   st.c.kind != OpportunityStageKind.LOST.value)
        if scope.owner_id is not None:
            stmt = stmt.where(op.c.owner_id == scope.owner_id)
        if scope.department_id is not None:
            stmt = stmt.where(op.c.department_id == scope.department_id)
        stmt = stmt.group_by(key, op.c.currency).order_by(key, op.c.currency)
        return [ForecastRowView(key=_key(r.key), currency=r.currency, count=r.n,
                                open=exact_sum_value(r, "open", SCALE, dialect),
                                weighted=exact_sum_value(r, "weighted", SCALE, dialect),
                                won=exact_sum_value(r, "won", SCALE, dialect)) for r in await self._all(stmt)]


    async def sourced(self, campaign_ids: list[uuid.UUID]) -> list[SourcedView]:
        """One GROUP BY campaign, currency over the campaigns' deals joined to their stage's kind."""
        dialect = self._reads.dialect
        stmt = select(op.c.campaign_id, op.c.currency, func.count().label("n"),
                      *exact_sum(case((st.c.kind == OpportunityStageKind.OPEN.value, op.c.amount)), "open", SCALE,
                                 dialect),
                      *exact_sum(case((st.c.kind == OpportunityStageKind.WON.value, op.c.amount)), "won", SCALE,
                                 dialect)) \
            .select_from(op.join(st, st.c.id == op.c.stage_id)) \
            .where(op.c.campaign_id.in_(campaign_ids)).group_by(op.c.campaign_id, op.c.currency)
        found: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in await self._all(stmt):
            found[row.campaign_id].append(row)

        def view(rows: list[Any]) -> SourcedView:
            def sums(name: str) -> dict[str, Decimal]:
                return {r.currency: amount for r in rows
                        if (amount := exact_sum_value(r, name, SCALE, dialect)) is not None and amount != 0}
            return SourcedView(count=sum(r.n for r in rows), pipeline=sums("open"), won=sums("won"))

        return [view(found.get(i, [])) for i in campaign_ids]


def _key(value: Any) -> str:
    """An owner's or department's id as text (empty: none), or the month."""
    return str(value) if value is not None else ""
