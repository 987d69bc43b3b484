"""Bulk import of opportunities (`crm import opportunities FILE`): create or update by number, all or nothing, in
bounded batches, as the customer import does (application/imports.py: the report, the row errors, the batches).

A row with a `number` is the opportunity of that number: updated (and moved, when its `stage` differs) if it
exists, created with that number if not (the number sequence is moved past it, so numbers drawn later never
collide). Importing the same file again changes nothing. A row without a number is a new deal with a drawn number
(importing such a row again makes another one). The rules are the aggregate's: a row moving a deal to a WON stage
creates its DRAFT order (the amount as one line), LOST needs `lostReason`, a won deal is final.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from application.complaints import department_code
from application.imports import (DEFAULT_BATCH_SIZE, ImportReport, SourceRow, row_fields, run_import,
                                 text_field as _text, write_batch)
from application.opportunities import OPPORTUNITY_NUMBER_SEQUENCE, first_open_stage
from application.ports import Clock, UnitOfWork
from domain.opportunity import NUMBER_PREFIX, Opportunity, OpportunityStage, may_sell, opportunity_number
from domain.organisation import Staff, normalise_email
from domain.shared import DomainError, Duplicate, InvalidInput, NotAuthorized, NotFound

FIELDS = ("number", "customerCode", "name", "amount", "currency", "stage", "probability", "expectedCloseDate",
          "ownerEmail", "lostReason", "campaignId")
NUMBER = re.compile(rf"^{NUMBER_PREFIX}(\d{{6,12}})$")


@dataclass(frozen=True)
class ImportOpportunities:
    """Rows keyed number, customerCode, name, amount, currency, stage (its name), probability, expectedCloseDate
    (YYYY-MM-DD), ownerEmail, lostReason, campaignId (the sourcing campaign's id, fixed when the deal is created).
    A missing or empty field means "leave as it is"."""

    rows: Iterable[SourceRow] | AsyncIterable[SourceRow]
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass(frozen=True)
class OpportunityRow:
    number: int
    key: str | None  # the opportunity's number, upper case
    customer_code: str | None
    name: str | None
    amount: object | None
    currency: str | None
    stage: str | None
    probability: int | None
    expected_close_date: date | None
    owner_email: str | None
    lost_reason: str | None
    campaign_id: uuid.UUID | None = None


async def import_opportunities(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: ImportOpportunities,
                               progress: Callable[[int], object] | None = None) -> ImportReport:
    """Create and update opportunities in one transaction; every bad row reported, nothing written if any is bad
    or on a dry run. Raises NotAuthorized (not SALES staff nor an ADMIN), InvalidInput with field ("file",) (the
    reader could not read the file), Conflict (a deal changed, or a number was taken, while the import ran)."""
    async with uow:
        if not may_sell(actor, await department_code(uow, actor)):
            raise NotAuthorized("Only sales staff (or an administrator) import opportunities.")
        importer = _Importer(uow, actor, clock.now(), cmd.dry_run, await uow.opportunity_stages.all())
        return await run_import(uow, importer, cmd.rows, cmd.batch_size, progress)


class _Importer:
    def __init__(self, uow: UnitOfWork, actor: Staff, at: datetime, dry_run: bool,
                 stages: list[OpportunityStage]) -> None:
        self.uow, self.actor, self.at = uow, actor, at
        self.report = ImportReport(dry_run=dry_run)
        self._stages = {s.name.casefold(): s for s in stages}
        self._first_row: dict[str, int] = {}
        self._staff: dict[str, Staff | None] = {}
        self._customers: dict[str, uuid.UUID | None] = {}
        self._campaigns: dict[uuid.UUID, bool] = {}  # campaign -> whether it exists
        self._department: str | None = None

    async def run(self, batch: list[SourceRow]) -> None:
        failures: list[tuple[int, DomainError]] = []
        rows = [row for row in (self._parse(source, failures) for source in batch) if row is not None]
        self._department = await department_code(self.uow, self.actor)
        existing = await self.uow.opportunities.get_many_by_number([r.key for r in rows if r.key])
        await self._lookups(rows)
        new: list[Opportunity] = []
        changed: list[Opportunity] = []
        for row in rows:
            try:
                current = existing.get(row.key) if row.key else None
                if current is None:
                    new.append(await self._create(row))
                elif self._update(current, row):
                    changed.append(current)
                else:
                    self.report.unchanged += 1
            except DomainError as err:
                failures.append((row.number, err))
            except NotAuthorized as err:
                failures.append((row.number, InvalidInput(err.message, field=("ownerEmail",))))
        await write_batch(self.uow, self.report, self.uow.opportunities, new, changed, failures)

    def _parse(self, source: SourceRow, failures: list[tuple[int, DomainError]]) -> OpportunityRow | None:
        number, data = source
        self.report.rows += 1
        try:
            data = row_fields(data, "opportunity", FIELDS)
            key = _blank(_text(data, "number"))
            if key is not None:
                key = key.upper()
                if not NUMBER.match(key):
                    raise InvalidInput(f"number must look like {NUMBER_PREFIX}000042.", field=("number",))
                first = self._first_row.setdefault(key, number)
                if first != number:
                    raise Duplicate(f"Number {key} already appeared on row {first}.", field=("number",))
            owner = _blank(_text(data, "ownerEmail"))
            return OpportunityRow(
                number=number, key=key, customer_code=_blank(_text(data, "customerCode")),
                name=_blank(_text(data, "name")), amount=_blank(data.get("amount")),
                currency=_blank(_text(data, "currency")), stage=_blank(_text(data, "stage")),
                probability=_whole(data.get("probability"), "probability"),
                expected_close_date=_date(data.get("expectedCloseDate"), "expectedCloseDate"),
                owner_email=normalise_email(owner, "ownerEmail") if owner else None,
                lost_reason=_blank(_text(data, "lostReason")), campaign_id=_campaign_id(data))
        except DomainError as err:
            failures.append((number, err))
            return None

    async def _lookups(self, rows: list[OpportunityRow]) -> None:
        emails = sorted({r.owner_email for r in rows if r.owner_email} - self._staff.keys())
        if emails:
            found = await self.uow.staff.get_many_by_email(emails)
            self._staff.update({email: found.get(email) for email in emails})
        codes = sorted({r.customer_code.upper() for r in rows if r.customer_code} - self._customers.keys())
        if codes:
            found_customers = await self.uow.customers.get_many_by_code(codes)
            self._customers.update({code: found_customers[code].id if code in found_customers else None
                                    for code in codes})
        for campaign_id in sorted({r.campaign_id for r in rows if r.campaign_id} - self._campaigns.keys()):
            self._campaigns[campaign_id] = await self.uow.campaigns.get(campaign_id) is not None  # a file names few

    def _owner(self, row: OpportunityRow) -> Staff | None:
        if row.owner_email is None:
            return None
        owner = self._staff.get(row.owner_email)
        if owner is None or not owner.active:
            raise NotFound(f"No active staff member has the e-mail {row.owner_email}.", field=("ownerEmail",))
        return owner

    def _stage(self, row: OpportunityRow) -> OpportunityStage | None:
        if row.stage is None:
            return None
        stage = self._stages.get(row.stage.casefold())
        if stage is None:
            raise NotFound(f"No stage is named {row.stage!r}.", field=("stage",))
        return stage

    async def _create(self, row: OpportunityRow) -> Opportunity:
        for name, value in (("customerCode", row.customer_code), ("name", row.name), ("amount", row.amount),
                            ("currency", row.currency)):
            if value is None:
                raise InvalidInput(f"{name} is required for a new opportunity.", field=(name,))
        customer_id = self._customers.get((row.customer_code or "").upper())
        if customer_id is None:
            raise NotFound(f"No customer has the code {row.customer_code}.", field=("customerCode",))
        if row.campaign_id is not None and not self._campaigns.get(row.campaign_id):
            raise NotFound("No such campaign.", field=("campaignId",))
        target = self._stage(row)
        start = target if target is not None and not target.closed else await first_open_stage(self.uow)

        def opened(number: str) -> Opportunity:
            return Opportunity.open(number=number, name=row.name or "", customer_id=customer_id,
                                    owner=self._owner(row) or self.actor, stage=start, amount=row.amount,
                                    currency=row.currency, probability=row.probability,
                                    expected_close_date=row.expected_close_date, campaign_id=row.campaign_id,
                                    by=self.actor, department_code=self._department, at=self.at)

        try:
            opportunity = opened(row.key or "OPP-000000")  # checked before a number is drawn
            if target is not None and target.closed:
                self._move(opportunity, target, row)
        except InvalidInput as err:
            if err.field and err.field[0] == "amount":  # ("amount", "amount" | "currency") in the API's shape
                raise InvalidInput(err.message, field=err.field[1:]) from None
            raise
        if not self.report.written:
            return opportunity
        if row.key is None:
            opportunity = opened(opportunity_number(await self.uow.sequences.next_value(OPPORTUNITY_NUMBER_SEQUENCE)))
            if target is not None and target.closed:
                self._move(opportunity, target, row)
        else:
            await self.uow.sequences.advance_past(OPPORTUNITY_NUMBER_SEQUENCE, int(row.key[len(NUMBER_PREFIX):]))
        return opportunity

    def _move(self, opportunity: Opportunity, stage: OpportunityStage, row: OpportunityRow) -> None:
        try:
            opportunity.move(stage, by=self.actor, department_code=self._department, at=self.at,
                             lost_reason=row.lost_reason)
        except DomainError as err:
            field = ("stage",) if err.field == ("stageId",) else err.field
            raise type(err)(err.message, field=field) from None

    def _update(self, opportunity: Opportunity, row: OpportunityRow) -> bool:
        """Apply the row; False when it changes nothing (no version bump, no event)."""
        if row.customer_code is not None and self._customers.get(row.customer_code.upper()) != opportunity.customer_id:
            raise InvalidInput("customerCode cannot change; the opportunity stays with its customer.",
                               field=("customerCode",))
        if row.campaign_id is not None and row.campaign_id != opportunity.campaign_id:
            raise InvalidInput("campaignId cannot change; the campaign that sourced a deal is fixed when it is "
                               "created.", field=("campaignId",))
        amount = None
        if row.amount is not None or row.currency is not None:
            amount = (row.amount if row.amount is not None else opportunity.amount.amount,
                      row.currency or opportunity.amount.currency)
        stage = self._stage(row)
        owner = self._owner(row)
        try:
            changed = opportunity.update(by=self.actor, department_code=self._department, at=self.at, name=row.name,
                                         amount=amount, probability=row.probability,
                                         expected_close_date=row.expected_close_date,
                                         owner=owner if owner is not None and owner.id != opportunity.owner_id
                                         else None)
        except InvalidInput as err:
            if err.field and err.field[0] == "amount":
                raise InvalidInput(err.message, field=err.field[1:]) from None
            raise
        if stage is not None and stage.id != opportunity.stage.id:
            self._move(opportunity, stage, row)
            changed = True
        return changed


def _campaign_id(data: Any) -> uuid.UUID | None:
    raw = _blank(_text(data, "campaignId"))
    if raw is None:
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise InvalidInput("campaignId is not a campaign's ID.", field=("campaignId",)) from None


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _whole(value: Any, key: str) -> int | None:
    value = _blank(value)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidInput(f"{key} must be a whole number.", field=(key,))


def _date(value: Any, key: str) -> date | None:
    value = _blank(value)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput(f"{key} must be a date such as 2026-12-31.", field=(key,))
