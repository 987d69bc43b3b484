"""The SLA worker: fire due warnings and breaches, escalate, notify; exactly once each.

Each complaint stores when its next SLA event falls due (`sla_next_deadline`, refreshed on every
save). A tick claims due complaints with one indexed query, fires what is due on each (recording
the fired event keys and timeline entries; `notify_escalation`, a handler of ComplaintEscalated on the
message bus, records the notifications in the same transaction) and stores the new deadline. Several workers may run: on PostgreSQL the claim skips rows another worker holds
(SELECT ... FOR NO KEY UPDATE SKIP LOCKED); on SQLite the single writer lock serialises them. A fired key
is never fired again, and the notifications table refuses a second notice for the same event and
person, so a crash or a race costs at most a retry, never a duplicate.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from application.periodic import DEFAULT_BATCH_SIZE, periodic_worker
from application.ports import Clock, Notification, UnitOfWork
from domain.complaint import ComplaintEscalated
from domain.sla import SlaEventKind

log = logging.getLogger("crm.sla_worker")


@dataclass(frozen=True)
class SlaTick:
    claimed: int = 0
    warnings: int = 0
    breaches: int = 0
    notifications: int = 0

    def __add__(self, other: "SlaTick") -> "SlaTick":
        return SlaTick(self.claimed + other.claimed, self.warnings + other.warnings, self.breaches + other.breaches,
                       self.notifications + other.notifications)


async def fire_due_sla_events(uow: UnitOfWork, clock: Clock, *, batch_size: int = DEFAULT_BATCH_SIZE) -> SlaTick:
    """One batch in one transaction: claim up to `batch_size` complaints whose next SLA deadline has
    passed, fire what is due on each and notify the people a breach escalates to."""
    now = clock.now()
    tick = SlaTick()
    async with uow:
        for complaint_id in await uow.complaints.claim_due(now, batch_size):
            complaint = await uow.complaints.get(complaint_id)
            if complaint is None:  # pragma: no cover - claimed rows are locked
                continue
            customer = await uow.customers.get(complaint.customer_id)
            before = set(complaint.fired)
            escalations = complaint.fire_due_sla_events(now, customer_owner_id=customer.owner_id if customer else None)
            fired = complaint.fired - before
            sent = sum(len(escalation.recipients) for escalation in escalations)  # told by notify_escalation
            await uow.complaints.save(complaint)
            tick += SlaTick(1, sum(k.kind is SlaEventKind.WARNING for k in fired),
                            sum(k.kind is SlaEventKind.BREACH for k in fired), sent)
        await uow.commit()
    return tick


run_sla_worker = periodic_worker(fire_due_sla_events, SlaTick, log)
"""`crm worker`'s loop for this batch (application/periodic.py): tick until `stop` is set (or once), drain
everything due, then wait `interval` seconds."""


async def notify_escalation(uow: UnitOfWork, event: ComplaintEscalated) -> None:
    """Tell each person a breach escalates to, once per breached cycle (a handler on the message bus, so the
    notices commit with the escalation)."""
    assert event.cycle_start is not None, "the complaint names the breached cycle"
    key = f"complaint:{event.aggregate_id}:{event.clock.value}:{SlaEventKind.BREACH.value}:{event.cycle_start.isoformat()}"
    for recipient in event.recipients:
        await uow.notifier.notify(Notification(
            recipient_id=recipient, kind="SLA_BREACH", dedupe_key=key, at=event.occurred_at,
            subject_type="Complaint", subject_id=event.aggregate_id,
            message=f"{event.number} ({event.subject}): {event.clock.value.replace('_', ' ').lower()} "
                    f"target breached; escalation level {event.escalation_level}."))


SLA_HANDLERS = {ComplaintEscalated: [notify_escalation]}
