"""Rows for the maturity tests: what the service would have recorded over a past period (complaints and their
progress, SLA breaches, reads, workflow steps, audit rows, trainings), written straight into the module's database
because the API only ever records now. Departments and staff come through the API (tests/e2e/conftest.py)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from api.common.relay import parse_global_id
from infrastructure.db import tables as t
from tests.conftest import Api, unique


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant of March 2025 (the 3rd is a Monday)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


PERIOD = {"from": at(3, 0).isoformat(), "to": at(17, 0).isoformat()}  # two whole weeks


class Rows:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def _insert(self, table: Any, **values: Any) -> None:
        async with self.api.container.core.engine().begin() as conn:
            await conn.execute(insert(table).values(**values))

    async def staff_id(self, email: str) -> uuid.UUID:
        return parse_global_id((await self.api("{ me { id } }", as_=email))["me"]["id"])[1]

    async def customer(self, owner: uuid.UUID | None, created: datetime = at(1)) -> uuid.UUID:
        customer_id = uuid.uuid4()
        await self._insert(t.customers, id=customer_id, code=unique("M").upper(), name=unique("Maturity customer"),
                           kind="COMPANY", tier="STANDARD", stage="CUSTOMER", owner_id=owner, attributes={},
                           version=1, created_at=created, updated_at=created)
        return customer_id

    async def complaint(self, customer: uuid.UUID, department: uuid.UUID, filed: datetime, *,
                        interval: int | None = 60, policy: bool = True, breached: bool = False) -> uuid.UUID:
        async with self.api.container.core.engine().begin() as conn:
            category = (await conn.execute(select(t.complaint_categories.c.id).limit(1))).scalar_one()
        complaint_id = uuid.uuid4()
        terms = {"policyId": str(uuid.uuid4()), "name": "P", "calendarId": str(uuid.uuid4()),
                 "firstResponseMinutes": 60, "resolutionMinutes": 600, "updateIntervalMinutes": interval,
                 "warnAt": 0.8, "escalateToId": None} if policy else None
        await self._insert(t.complaints, id=complaint_id, number=unique("K")[:20], customer_id=customer,
                           category_id=category, priority="MEDIUM", channel="EMAIL", subject="S", description="D",
                           status="IN_PROGRESS", department_id=department, sla_terms=terms, escalation_level=0,
                           first_response_breached=False, resolution_breached=breached, version=1,
                           created_at=filed, updated_at=filed)
        return complaint_id

    async def progress(self, complaint: uuid.UUID, when: datetime, department: uuid.UUID,
                       late: bool | None = None) -> None:
        """A progress entry; `late` as the service judged it when recording it (None: not judged, as before 0016)."""
        await self._insert(t.complaint_timeline, id=uuid.uuid4(), complaint_id=complaint,
                           position=int(when.timestamp()) % 1_000_000_000, at=when, kind="PROGRESS",
                           department_id=department, visibility="INTERNAL", message="progress", late=late)

    async def update_breach(self, complaint: uuid.UUID, cycle_start: datetime, fired: datetime) -> None:
        await self._insert(t.complaint_sla_events, complaint_id=complaint, clock="NEXT_UPDATE", kind="BREACH",
                           cycle_start=cycle_start, fired_at=fired)

    async def read(self, complaint: uuid.UUID, staff: uuid.UUID, when: datetime) -> None:
        await self._insert(t.complaint_reads, complaint_id=complaint, staff_id=staff, day=when.date(),
                           first_read_at=when)

    async def step(self, department: uuid.UUID, activated: datetime, *, decided: datetime | None = None,
                   due: datetime | None = None, status: str = "APPROVED") -> None:
        definition, instance = uuid.uuid4(), uuid.uuid4()
        await self._insert(t.workflow_definitions, id=definition, key=unique("wf"), version=1, name="W",
                           subject="ORDER", steps=[], active=True, created_at=activated)
        await self._insert(t.workflow_instances, id=instance, definition_id=definition, definition_key="wf",
                           definition_version=1, subject_type="ORDER", subject_id=uuid.uuid4(), status="RUNNING",
                           context={}, started_at=activated, updated_at=activated, version=1)
        await self._insert(t.workflow_steps, instance_id=instance, key="s", position=0, name="S",
                           department_id=department, kind="APPROVAL", required_role="MEMBER", stage=0,
                           status=status, activated_at=activated, due_at=due,
                           decided_at=decided, decision=None, delegations=[])

    async def wrote(self, actor: uuid.UUID, when: datetime, aggregate_type: str = "customer") -> None:
        await self._insert(t.audit_log, id=uuid.uuid4(), at=when, actor_id=actor, aggregate_type=aggregate_type,
                           aggregate_id=uuid.uuid4(), operation="test", kind="CREATE")

    async def trained(self, staff: uuid.UUID, when: datetime) -> None:
        await self._insert(t.staff_trainings, staff_id=staff, trained_at=when, marked_by=staff, marked_at=when)

    async def waiting_event(self, occurred: datetime) -> None:
        """An outbox event a destination of its own has not taken yet."""
        async with self.api.container.core.engine().begin() as conn:
            await conn.execute(insert(t.outbox).values(
                id=uuid.uuid4(), type="maturity.test", aggregate_type="test", aggregate_id=uuid.uuid4(),
                occurred_at=occurred, payload={}))
            position = (await conn.execute(select(func.max(t.outbox.c.position)))).scalar_one()
            await conn.execute(insert(t.relay_cursors).values(name=unique("maturity"), position=position - 1,
                                                              failures=0, updated_at=occurred))

    async def parked(self, *when: datetime) -> None:
        webhook = uuid.uuid4()
        await self._insert(t.webhooks, id=webhook, url="https://parked.example/hook", events=["*"],
                           secret_ciphertext="x", active=False, created_at=when[0], after_position=0,
                           consecutive_failures=0)
        for position, moment in enumerate(when):
            await self._insert(t.webhook_deliveries, webhook_id=webhook, position=position, event_id=uuid.uuid4(),
                               aggregate_id=uuid.uuid4(), state="PARKED", attempts=5, next_attempt_at=moment,
                               parked_at=moment, created_at=moment)

    async def order(self, customer: uuid.UUID, owner: uuid.UUID, created: datetime, currency: str,
                    skus: list[str]) -> uuid.UUID:
        """An order the staff member owns, one line per SKU."""
        order_id = uuid.uuid4()
        await self._insert(t.orders, id=order_id, number=unique("MO")[:20], customer_id=customer,
                           owner_id=owner, status="CONFIRMED", currency=currency, total_amount=Decimal("10"),
                           advance_payment="NONE", placed_at=created, version=1, created_at=created,
                           updated_at=created)
        for position, sku in enumerate(skus):
            await self._insert(t.order_lines, order_id=order_id, position=position, sku=sku, description=sku,
                               quantity=Decimal("1"), unit_price=Decimal("10"), discount_percent=Decimal("0"),
                               line_total=Decimal("10"))
        return order_id

    async def health(self, when: datetime, state: str, name: str = "test-erp", kind: str = "ERP") -> None:
        """A health sample as the integration sync takes them."""
        await self._insert(t.integration_health_samples, sampled_at=when, name=name, kind=kind, state=state)

    async def api_key(self, scopes: list[str], created: datetime, last_used: datetime | None,
                      revoked: datetime | None = None) -> None:
        async with self.api.container.core.engine().connect() as conn:
            admin = (await conn.execute(select(t.staff.c.id).where(t.staff.c.email == "admin@example.com"))).scalar_one()
        await self._insert(t.api_keys, id=uuid.uuid4(), name=unique("partner"), scopes=scopes, secret_hash="0" * 64,
                           acts_as=admin, created_at=created, revoked_at=revoked, last_used_at=last_used)
