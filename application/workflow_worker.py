"""The workflow worker: escalate overdue steps, once per step activation, and tell the managers.

A step's due time is stored on its row when it is activated (business minutes on its department's
calendar). A tick claims overdue steps that were not escalated yet with one indexed query, calls
`WorkflowInstance.escalate_overdue` (which sets `escalated_at` and records `workflow.step_overdue`:
outbox, live subscribers and the customer's activity feed) naming every active MANAGER of the step's
department, whom `notify_overdue` (a handler on the message bus) notifies, all in one transaction. Several workers may run: on
PostgreSQL the claim skips instances another worker (or a person deciding) holds, on SQLite the writer
lock serialises them. `escalated_at` keeps a step from being escalated twice, and the notifications
table refuses a second notice for the same activation and person, so a race or a crash costs at most
a retry, never a duplicate.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from application.periodic import DEFAULT_BATCH_SIZE, periodic_worker
from application.ports import Clock, Notification, UnitOfWork
from domain.organisation import Role
from domain.workflow.instance import WorkflowStepOverdue

log = logging.getLogger("crm.workflow_worker")
NOTIFICATION_KIND = "WORKFLOW_STEP_OVERDUE"


@dataclass(frozen=True)
class EscalationTick:
    claimed: int = 0  # overdue steps claimed
    escalated: int = 0
    notifications: int = 0

    def __add__(self, other: "EscalationTick") -> "EscalationTick":
        return EscalationTick(self.claimed + other.claimed, self.escalated + other.escalated,
                              self.notifications + other.notifications)


def overdue_notice(event: WorkflowStepOverdue, recipient_id: uuid.UUID) -> Notification:
    """What a manager is told. The dedupe key names the activation, so each is told once per activation."""
    return Notification(
        recipient_id=recipient_id, kind=NOTIFICATION_KIND, at=event.occurred_at,
        dedupe_key=f"workflow:{event.aggregate_id}:{event.step_key}:overdue:{event.activated_at.isoformat()}",
        subject_type="WorkflowInstance", subject_id=event.aggregate_id,
        message=f"{event.definition_key}: step {event.step_name!r} was due {event.due_at:%Y-%m-%d %H:%M %Z} "
                f"and is still open.")


async def notify_overdue(uow: UnitOfWork, event: WorkflowStepOverdue) -> None:
    """Tell the managers an overdue step names (a handler on the message bus: in the escalation's transaction)."""
    for recipient in event.recipients:
        await uow.notifier.notify(overdue_notice(event, recipient))


WORKFLOW_WORKER_HANDLERS = {WorkflowStepOverdue: [notify_overdue]}


async def escalate_overdue_steps(uow: UnitOfWork, clock: Clock, *,
                                 batch_size: int = DEFAULT_BATCH_SIZE) -> EscalationTick:
    """One batch in one transaction: claim up to `batch_size` overdue steps, escalate them and notify the
    active MANAGERs of each step's department (a department without one gets the escalation, no notice)."""
    now = clock.now()
    tick = EscalationTick()
    managers: dict[uuid.UUID, list[uuid.UUID]] = {}  # per department, read once per batch
    async with uow:
        claimed = await uow.workflows.claim_overdue(now, batch_size)
        for instance_id in dict.fromkeys(instance_id for instance_id, _ in claimed):
            instance = await uow.workflows.get(instance_id)
            if instance is None:  # pragma: no cover - claimed rows are locked
                continue
            for step in instance.escalations_due(now):
                if step.department_id not in managers:
                    managers[step.department_id] = [
                        s.id for s in await uow.staff.active_in_department(step.department_id, Role.MANAGER)]
            escalated = instance.escalate_overdue(now, managers=managers)
            sent = sum(len(managers[step.department_id]) for step in escalated)  # told by notify_overdue
            if escalated:
                await uow.workflows.save(instance)
            tick += EscalationTick(0, len(escalated), sent)
        tick += EscalationTick(claimed=len(claimed))
        await uow.commit()
    return tick


run_workflow_worker = periodic_worker(escalate_overdue_steps, EscalationTick, log)
"""`crm worker`'s loop for this batch (application/periodic.py): tick until `stop` is set (or once), drain
everything due, then wait `interval` seconds."""
