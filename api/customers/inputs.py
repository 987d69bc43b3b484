from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from api.common.scalars import JSON, Upload
from api.customers.enums import CustomerKindEnum, CustomerTierEnum, InteractionKindEnum, LifecycleStageEnum
from api.common.relay import decode_optional_id
from application.customers import ContactData
from application.queries.views import CustomerFilter as CustomerFilterQuery


@strawberry.input
class ContactInput:
    name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    primary: bool | None = None

    def to_data(self) -> ContactData:
        return ContactData(name=self.name, email=self.email, phone=self.phone, title=self.title, primary=self.primary)


@strawberry.input
class CustomerFilter:
    search: str | None = strawberry.field(default=None,
                                          description="Case-insensitive match on name, code and contact e-mail")
    stages: list[LifecycleStageEnum] | None = None  # type: ignore[valid-type]
    tiers: list[CustomerTierEnum] | None = None  # type: ignore[valid-type]
    owner_id: strawberry.ID | None = None
    tag: str | None = None

    def to_query(self) -> CustomerFilterQuery:
        return CustomerFilterQuery(
            search=(self.search or "").strip()[:200] or None,
            stages=tuple(s.value for s in self.stages or ()),
            tiers=tuple(t.value for t in self.tiers or ()),
            owner_id=decode_optional_id(self.owner_id, "Staff", "ownerId"),
            tag=self.tag,
        )


@strawberry.enum
class CustomerOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class CustomerOrder:
    field: CustomerOrderField
    direction: SortDirection


@strawberry.input
class CreateCustomerInput:
    code: str | None = None
    name: str
    kind: CustomerKindEnum  # type: ignore[valid-type]
    tier: CustomerTierEnum | None = None  # type: ignore[valid-type]
    lifecycle_stage: LifecycleStageEnum | None = None  # type: ignore[valid-type]
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Whoever registers the customer "
                                                                                 "when not given (as for orders)")
    contacts: list[ContactInput] | None = None
    tags: list[str] | None = None
    attributes: JSON | None = None
    idempotency_key: str | None = None


@strawberry.input
class UpdateCustomerInput:
    id: strawberry.ID
    expected_version: int | None = None
    name: str | None = None
    tier: CustomerTierEnum | None = None  # type: ignore[valid-type]
    owner_id: strawberry.ID | None = strawberry.UNSET
    contacts: list[ContactInput] | None = None
    tags: list[str] | None = None
    attributes: JSON | None = None


@strawberry.input
class ChangeLifecycleStageInput:
    customer_id: strawberry.ID
    to: LifecycleStageEnum  # type: ignore[valid-type]
    reason: str | None = None
    expected_version: int | None = None


@strawberry.input
class LogInteractionInput:
    customer_id: strawberry.ID
    kind: InteractionKindEnum  # type: ignore[valid-type]
    summary: str
    occurred_at: datetime | None = None
    rating: int | None = None
    idempotency_key: str | None = None


@strawberry.enum
class ImportFormat(Enum):
    CSV = "CSV"
    JSON = "JSON"


@strawberry.input
class ImportCustomersInput:
    file: Upload
    format: ImportFormat
    dry_run: bool | None = strawberry.field(default=None, description="Validate and report without writing anything")
