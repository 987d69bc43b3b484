"""Bulk import of customers: create or update by code, all or nothing, in bounded batches."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from application.customers import ContactData, build_contacts, sales_department_id
from application.ports import Clock, UnitOfWork
from domain.customer import (
    Contact,
    Customer,
    CustomerKind,
    CustomerTier,
    LifecycleStage,
    check_tags,
    normalise_code,
)
from domain.organisation import Role, Staff, normalise_email
from domain.storable import unstorable
from domain.shared import DomainError, Duplicate, InvalidInput, NotAuthorized, NotFound

DEFAULT_BATCH_SIZE = 500
MAX_ROW_ERRORS = 1000
FIELDS = ("code", "name", "kind", "tier", "lifecycleStage", "ownerEmail", "tags", "attributes", "contacts")
CONTACT_FIELDS = ("name", "email", "phone", "title", "primary")

SourceRow = tuple[int, Any]
"""(1-based row number, the row's fields as a reader decoded them); the values are checked here."""

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


@dataclass(frozen=True)
class ImportCustomers:
    """Rows keyed as in the API contract: code, name, kind, tier, lifecycleStage, ownerEmail,
    tags (list), attributes (object) and contacts (list of {name, email, phone, title, primary}).
    A missing or null field means "leave as it is"."""

    rows: Iterable[SourceRow] | AsyncIterable[SourceRow]
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass(frozen=True)
class RowError:
    row: int
    field: str | None
    message: str


@dataclass
class ImportReport:
    """What the import did, or (dry run, or any row error) would have done with the valid rows."""

    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    error_count: int = 0
    row_errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not self.dry_run and self.error_count == 0

    @property
    def problem(self) -> str | None:
        """Why nothing was imported, for the caller to show; None when all rows were fine."""
        if not self.error_count:
            return None
        one = self.error_count == 1
        rows = "1 row has an error" if one else f"{self.error_count} rows have errors"
        outcome = "the import would write nothing" if self.dry_run else "nothing was imported"
        listed = (f" Only the first {len(self.row_errors)} are listed."
                  if self.error_count > len(self.row_errors) else "")
        return (f"{rows}, so {outcome}: an import is all or nothing. Fix {'it' if one else 'them'} and import "
                f"the file again.{listed}")

    @property
    def summary(self) -> str:
        """One line on the counts that cannot be read as written when they were not."""
        counts = f"{self.created:,} created, {self.updated:,} updated, {self.unchanged:,} unchanged"
        if self.written:
            return f"{self.rows:,} rows read: {counts}"
        if self.error_count:
            return f"{self.rows:,} rows read, nothing imported; the rows without errors would have given {counts}"
        return f"{self.rows:,} rows read (dry run): {counts}"

    def tally(self, created: int, updated: int, failures: list[tuple[int, DomainError]]) -> None:
        """A batch's outcome (every import's): what it created and updated, and its failures in row order."""
        self.created += created
        self.updated += updated
        for number, error in sorted(failures, key=lambda failure: failure[0]):
            self.fail(number, error)

    def fail(self, row: int, err: DomainError) -> None:
        self.error_count += 1
        if len(self.row_errors) < MAX_ROW_ERRORS:
            self.row_errors.append(RowError(row, ".".join(err.field) if err.field else None, err.message))


@dataclass(frozen=True)
class CustomerRow:
    """One row with its values checked for type; the aggregate checks the business rules."""

    number: int
    code: str
    name: str | None
    kind: CustomerKind | None
    tier: CustomerTier | None
    stage: LifecycleStage | None
    owner_email: str | None
    tags: list[str] | None
    attributes: Any
    contacts: tuple[ContactData, ...] | None


def may_import(actor: Staff) -> bool:
    return actor.role.at_least(Role.KEY_USER)


async def import_customers(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: ImportCustomers,
                           progress: Callable[[int], object] | None = None) -> ImportReport:
    """Create customers whose code is new and update the others, in one transaction.

    Every row is checked and every bad one reported (the first MAX_ROW_ERRORS listed); if any
    row is bad, or on a dry run, nothing is written. Rows are read and written in batches of
    `cmd.batch_size`, so a large file never sits in memory. `progress` gets the number of rows
    read after each batch.

    Raises NotAuthorized (a MEMBER), InvalidInput with field ("file",) (the reader could not
    read the file), Conflict (a customer changed while the import ran).
    """
    if not may_import(actor):
        raise NotAuthorized("Only key users, managers and administrators import customers.")
    async with uow:
        return await run_import(uow, _Importer(uow, actor, clock.now(), cmd.dry_run), cmd.rows, cmd.batch_size,
                                progress)


class BatchImporter(Protocol):
    report: ImportReport

    async def run(self, batch: list[SourceRow]) -> None:
        """Check a batch of rows, count them in `report`, and write them unless the report says not to."""


async def run_import(uow: UnitOfWork, importer: BatchImporter, rows: Iterable[SourceRow] | AsyncIterable[SourceRow],
                     batch_size: int, progress: Callable[[int], object] | None) -> ImportReport:
    """Feed the rows to `importer` batch by batch inside `uow` (open), telling `progress` the rows read after each;
    commit only when the whole import was written (no row error, no dry run)."""
    async for batch in batches(rows, max(1, batch_size)):
        await importer.run(batch)
        if progress is not None:
            progress(importer.report.rows)
    if importer.report.written:
        await uow.commit()
    return importer.report


class BatchStore(Protocol):
    async def add_many(self, items: list[Any]) -> None: ...
    async def save(self, item: Any) -> None: ...


async def write_batch(uow: UnitOfWork, report: ImportReport, store: BatchStore, new: list[Any], changed: list[Any],
                      failures: list[tuple[int, DomainError]]) -> None:
    """A checked batch: tallied, and written (new ones added, changed ones saved, their events with them) unless a
    row of the import failed or it is a dry run; once a row failed, the rest is only checked."""
    report.tally(len(new), len(changed), failures)
    if report.written:
        await store.add_many(new)
        for item in changed:
            await store.save(item)
    await uow.flush(write_events=report.written)


def row_fields(data: Any, what: str, known: tuple[str, ...]) -> Mapping[str, Any]:
    """A row's fields, or InvalidInput: not an object, not storable (InputTheStoreCanHold, as for every GraphQL
    request: api/common/limits.py), or a field that is none of `known`."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"A row must be an object holding the {what}'s fields.")
    flaw = unstorable(data)
    if flaw:
        raise InvalidInput(flaw[1], field=flaw[0])
    unknown = [key for key in data if key not in known]
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0]!r}; the fields are {', '.join(known)}.",
                           field=(str(unknown[0]),))
    return data


class _Importer:
    def __init__(self, uow: UnitOfWork, actor: Staff, at: datetime, dry_run: bool) -> None:
        self.uow = uow
        self.actor = actor
        self.at = at
        self.report = ImportReport(dry_run=dry_run)
        self._first_row: dict[str, int] = {}  # code -> row it first appeared on, to catch duplicates
        self._owners: dict[str, Staff | None] = {}  # e-mail -> staff (None: nobody), across batches
        self._sales_department_id: uuid.UUID | None = None

    async def run(self, batch: list[SourceRow]) -> None:
        failures: list[tuple[int, DomainError]] = []
        rows = [row for row in (self._parse(source, failures) for source in batch) if row is not None]
        existing = await self.uow.customers.get_many_by_code([r.code for r in rows], for_update=True)
        await self._load_owners({r.owner_email for r in rows if r.owner_email is not None})
        new: list[Customer] = []
        changed: list[Customer] = []
        for row in rows:
            try:
                current = existing.get(row.code)
                if current is None:
                    new.append(self._register(row))
                elif self._update(current, row):
                    changed.append(current)
                else:
                    self.report.unchanged += 1
            except DomainError as err:
                failures.append((row.number, err))
        await write_batch(self.uow, self.report, self.uow.customers, new, changed, failures)

    def _parse(self, source: SourceRow, failures: list[tuple[int, DomainError]]) -> CustomerRow | None:
        number, data = source
        self.report.rows += 1
        try:
            data = row_fields(data, "customer", FIELDS)
            code = text_field(data, "code")
            if code is None:
                raise InvalidInput("code is required.", field=("code",))
            code = normalise_code(code)
            first = self._first_row.setdefault(code, number)
            if first != number:
                raise Duplicate(f"Code {code} already appeared on row {first}.", field=("code",))
            return _parse_fields(number, code, data)
        except DomainError as err:
            failures.append((number, err))
            return None

    async def _load_owners(self, emails: set[str]) -> None:
        if self._sales_department_id is None:
            self._sales_department_id = await sales_department_id(self.uow)
        missing = sorted(emails - self._owners.keys())
        if missing:
            found = await self.uow.staff.get_many_by_email(missing)
            self._owners.update({email: found.get(email) for email in missing})

    def _owner_id(self, row: CustomerRow) -> uuid.UUID | None:
        if row.owner_email is None:
            return None
        owner = self._owners.get(row.owner_email)
        if owner is None or not owner.active:
            raise NotFound(f"No active staff member has the e-mail {row.owner_email}.", field=("ownerEmail",))
        return owner.id

    def _register(self, row: CustomerRow) -> Customer:
        if row.name is None:
            raise InvalidInput("name is required for a new customer.", field=("name",))
        if row.kind is None:
            raise InvalidInput("kind is required for a new customer.", field=("kind",))
        return Customer.register(
            code=row.code, name=row.name, kind=row.kind, tier=row.tier, stage=row.stage,
            owner_id=self._owner_id(row), contacts=build_contacts(row.contacts or ()), tags=row.tags,
            attributes=row.attributes, at=self.at, by=self.actor.id,
        )

    def _update(self, customer: Customer, row: CustomerRow) -> bool:
        """Apply the row; False when it changes nothing (then no version bump, no event)."""
        if row.kind is not None and row.kind is not customer.kind:
            raise InvalidInput(f"kind cannot change; this customer is a {customer.kind.value}.", field=("kind",))
        tags = row.tags
        if tags is not None and set(check_tags(tags)) == set(customer.tags):
            tags = None  # tags are stored as a set and read back in the store's order
        owner_id = self._owner_id(row)
        if owner_id is not None:
            try:
                customer.check_owner_change(owner_id, actor=self.actor, sales_department_id=self._sales_department_id)
            except NotAuthorized as err:
                raise InvalidInput(err.message, field=("ownerEmail",)) from None
        changed = customer.update(
            at=self.at, by=self.actor.id, name=row.name, tier=row.tier, owner_id=owner_id,
            contacts=merge_contacts(customer.contacts, row.contacts) if row.contacts is not None else None,
            tags=tags, attributes=row.attributes,
        )
        if row.stage is not None and row.stage is not customer.stage:
            try:
                customer.change_stage(row.stage, at=self.at, by=self.actor.id)
            except DomainError as err:
                raise type(err)(err.message, field=("lifecycleStage",)) from None
            changed = True
        return changed


def merge_contacts(current: list[Contact], incoming: tuple[ContactData, ...]) -> list[Contact]:
    """Update the contacts a row names, add the new ones and keep the others.

    A contact is matched by e-mail, or, when it has none, by name among the contacts without
    an e-mail (so re-importing a file changes nothing). Fields a row leaves out keep their
    value; a contact the row marks primary makes the others secondary.
    """
    merged = list(current)
    if any(data.primary for data in incoming):
        merged = [replace(c, primary=False) for c in merged]
    for data, contact in zip(incoming, build_contacts(incoming)):
        index = _match(merged, contact)
        if index is None:
            merged.append(contact)
            continue
        old = merged[index]
        merged[index] = replace(
            old, name=contact.name,
            phone=contact.phone if contact.phone is not None else old.phone,
            title=contact.title if contact.title is not None else old.title,
            primary=old.primary if data.primary is None else contact.primary)
    return merged


def _match(contacts: list[Contact], contact: Contact) -> int | None:
    for i, candidate in enumerate(contacts):
        if contact.email is not None:
            if candidate.email == contact.email:
                return i
        elif candidate.email is None and candidate.name.casefold() == contact.name.casefold():
            return i
    return None


def _parse_fields(number: int, code: str, data: Mapping[str, Any]) -> CustomerRow:
    owner_email = text_field(data, "ownerEmail")
    return CustomerRow(
        number=number, code=code, name=text_field(data, "name"),
        kind=choice_field(data, "kind", CustomerKind), tier=choice_field(data, "tier", CustomerTier),
        stage=choice_field(data, "lifecycleStage", LifecycleStage),
        owner_email=normalise_email(owner_email, "ownerEmail") if owner_email is not None else None,
        tags=_tags(data.get("tags")), attributes=data.get("attributes"), contacts=_contacts(data.get("contacts")),
    )


def text_field(data: Mapping[str, Any], key: str, where: tuple[str, ...] = ()) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be text.", field=(*where, key))
    return value


def choice_field(data: Mapping[str, Any], key: str, choices: type[E]) -> E | None:
    text = text_field(data, key)
    if text is None:
        return None
    try:
        return choices(text.strip().upper())
    except ValueError:
        raise InvalidInput(f"{key} must be one of {', '.join(choices)}.", field=(key,)) from None


def _tags(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput("tags must be a list of text.", field=("tags",))
    for i, tag in enumerate(value):
        if not isinstance(tag, str):
            raise InvalidInput("A tag must be text.", field=("tags", str(i)))
    return value


def _contacts(value: Any) -> tuple[ContactData, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput("contacts must be a list of objects.", field=("contacts",))
    contacts = []
    for i, item in enumerate(value):
        where = ("contacts", str(i))
        if not isinstance(item, Mapping):
            raise InvalidInput("A contact must be an object.", field=where)
        unknown = [key for key in item if key not in CONTACT_FIELDS]
        if unknown:
            raise InvalidInput(f"Unknown contact field {unknown[0]!r}; the fields are {', '.join(CONTACT_FIELDS)}.",
                               field=(*where, str(unknown[0])))
        name = text_field(item, "name", where)
        if name is None:
            raise InvalidInput("name is required.", field=(*where, "name"))
        primary = item.get("primary")
        if primary is not None and not isinstance(primary, bool):
            raise InvalidInput("primary must be true or false.", field=(*where, "primary"))
        contacts.append(ContactData(name=name, email=text_field(item, "email", where), phone=text_field(item, "phone", where),
                                    title=text_field(item, "title", where), primary=primary))
    return tuple(contacts)



async def batches(rows: Iterable[T] | AsyncIterable[T], size: int) -> AsyncIterator[list[T]]:
    batch: list[T] = []
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    else:
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch
