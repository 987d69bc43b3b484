"""Bulk import of a campaign's members (`crm import campaign-members CAMPAIGN FILE`): create or update by
(campaign, customer), all or nothing, in bounded batches, as the customer import does (application/imports.py).

A row names the customer by `customerCode` or `customerId` (both: they must agree), optionally its contact by
`contactEmail` (one of the customer's contacts) and the member's `status` (default TARGETED for a new member,
unchanged for an existing one). An existing member moves by the member rules (forward only, OPTED_OUT final,
the same status changes nothing); a customer who opted out of any campaign is not added, unless the row records
that very opt-out. Importing the same file again changes nothing."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from application.campaigns import runnable_campaign
from application.imports import (
    DEFAULT_BATCH_SIZE,
    ImportReport,
    SourceRow,
    choice_field,
    row_fields,
    run_import,
    text_field,
)
from application.ports import Clock, ImportTarget, UnitOfWork
from domain.campaign import Campaign, CampaignMember, CampaignMemberStatus, OptedOut
from domain.customer import normalise_code
from domain.organisation import Staff, normalise_email
from domain.shared import DomainError, Duplicate, InvalidInput, NotFound

MEMBER_FIELDS = ("customerCode", "customerId", "contactEmail", "status")


@dataclass(frozen=True)
class ImportCampaignMembers:
    campaign_id: uuid.UUID
    rows: Iterable[SourceRow] | AsyncIterable[SourceRow]
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass(frozen=True)
class MemberRow:
    number: int
    code: str | None
    customer_id: uuid.UUID | None
    contact_email: str | None
    status: CampaignMemberStatus | None

    @property
    def customer_field(self) -> str:
        return "customerCode" if self.code is not None else "customerId"


async def import_campaign_members(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: ImportCampaignMembers,
                                  progress: Callable[[int], object] | None = None) -> ImportReport:
    """Every row checked and every bad one reported; any bad row, or a dry run, writes nothing.
    Raises NotFound (the campaign), NotAuthorized (not its runner: the owner, MARKETING's key users and managers,
    ADMINs), InvalidInput with field ("file",) (the reader could not read the file)."""
    async with uow:
        await runnable_campaign(uow, actor, cmd.campaign_id)
        return await run_import(uow, _MemberImporter(uow, cmd.campaign_id, actor, clock.now(), cmd.dry_run),
                                cmd.rows, cmd.batch_size, progress)


class _MemberImporter:
    def __init__(self, uow: UnitOfWork, campaign_id: uuid.UUID, actor: Staff, at: datetime, dry_run: bool) -> None:
        self.uow, self.campaign_id, self.actor, self.at = uow, campaign_id, actor, at
        self.report = ImportReport(dry_run=dry_run)
        self._first_row: dict[uuid.UUID, int] = {}  # customer -> the row that named it first

    async def run(self, batch: list[SourceRow]) -> None:
        # loaded again for every batch: the flush at a batch's end forgets the aggregates seen (and their events)
        campaign = await self.uow.campaigns.get(self.campaign_id)
        assert campaign is not None
        failures: list[tuple[int, DomainError]] = []
        rows = [row for row in (self._parse(source, failures) for source in batch) if row is not None]
        targets = await self.uow.campaigns.import_targets(
            sorted({r.code for r in rows if r.code is not None}),
            sorted({r.customer_id for r in rows if r.customer_id is not None}))
        by_code = {target.code: target for target in targets}
        by_id = {target.customer_id: target for target in targets}
        resolved: list[tuple[MemberRow, ImportTarget]] = []
        for row in rows:
            try:
                resolved.append((row, self._target(row, by_code, by_id)))
            except DomainError as err:
                failures.append((row.number, err))
        existing = await self.uow.campaigns.members(campaign.id, [target.customer_id for _, target in resolved])
        new: list[CampaignMember] = []
        changed: list[CampaignMember] = []
        for row, target in resolved:
            try:
                current = existing.get(target.customer_id)
                if current is None:
                    new.append(self._join(campaign, row, target))
                elif self._update(campaign, current, row, target):
                    changed.append(current)
                else:
                    self.report.unchanged += 1
            except DomainError as err:
                failures.append((row.number, err))
        self.report.tally(len(new), len(changed), failures)
        if self.report.written:
            await self.uow.campaigns.add_members(new)
            for member in changed:
                await self.uow.campaigns.save_member(member)
            campaign.members_added(len(new), segment=None, customer_ids=tuple(m.customer_id for m in new),
                                   at=self.at, by=self.actor.id)
        await self.uow.flush(write_events=self.report.written)

    def _parse(self, source: SourceRow, failures: list[tuple[int, DomainError]]) -> MemberRow | None:
        number, data = source
        self.report.rows += 1
        try:
            data = row_fields(data, "member", MEMBER_FIELDS)
            code = text_field(data, "customerCode")
            raw_id = text_field(data, "customerId")
            if code is None and raw_id is None:
                raise InvalidInput("customerCode or customerId is required.", field=("customerCode",))
            customer_id = None
            if raw_id is not None:
                try:
                    customer_id = uuid.UUID(raw_id.strip())
                except ValueError:
                    raise InvalidInput("customerId is not a customer's ID.", field=("customerId",)) from None
            email = text_field(data, "contactEmail")
            return MemberRow(number=number, code=normalise_code(code, "customerCode") if code is not None else None,
                             customer_id=customer_id,
                             contact_email=normalise_email(email, "contactEmail") if email is not None else None,
                             status=choice_field(data, "status", CampaignMemberStatus))
        except DomainError as err:
            failures.append((number, err))
            return None

    def _target(self, row: MemberRow, by_code: dict[str, ImportTarget],
                by_id: dict[uuid.UUID, ImportTarget]) -> ImportTarget:
        target = by_code.get(row.code) if row.code is not None else by_id.get(row.customer_id)  # type: ignore[arg-type]
        if target is None:
            raise NotFound(f"No customer has this {'code' if row.code is not None else 'ID'}.",
                           field=(row.customer_field,))
        if row.code is not None and row.customer_id is not None and row.customer_id != target.customer_id:
            raise InvalidInput(f"customerId names another customer than {row.code}.", field=("customerId",))
        first = self._first_row.setdefault(target.customer_id, row.number)
        if first != row.number:
            raise Duplicate(f"This customer already appeared on row {first}.", field=(row.customer_field,))
        return target

    def _contact(self, row: MemberRow, target: ImportTarget) -> uuid.UUID | None:
        if row.contact_email is None:
            return None
        contact_id = target.contacts.get(row.contact_email)
        if contact_id is None:
            raise NotFound(f"{target.code} has no contact with the e-mail {row.contact_email}.",
                           field=("contactEmail",))
        return contact_id

    def _join(self, campaign: Campaign, row: MemberRow, target: ImportTarget) -> CampaignMember:
        if target.opted_out and row.status is not CampaignMemberStatus.OPTED_OUT:
            raise OptedOut(f"{target.code} opted out of a campaign and is not targeted again.",
                           field=(row.customer_field,))
        member = campaign.new_member(target.customer_id, contact_id=self._contact(row, target), at=self.at)
        if row.status is not None:
            campaign.record_response(member, row.status, at=self.at, by=self.actor.id)
        return member

    def _update(self, campaign: Campaign, member: CampaignMember, row: MemberRow, target: ImportTarget) -> bool:
        """Apply the row; False when it changes nothing."""
        before = (member.status, member.contact_id)
        contact_id = self._contact(row, target)
        if row.status is not None:
            campaign.record_response(member, row.status, at=self.at, by=self.actor.id)
        if contact_id is not None and contact_id != member.contact_id:
            member.contact_id, member.updated_at = contact_id, self.at
        return (member.status, member.contact_id) != before
