"""Customer activity as a projection of domain events.

Every department's work on a customer shows up in one newest-first feed. `project_activity`, a
handler of every event on the message bus (application/messagebus.py), writes these rows in the
same transaction as the events, so the feed is never behind; new kinds of work (complaints, orders,
workflows) only add a case here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from domain.order import STATUS_EVENT_TYPES as ORDER_STATUS_EVENTS
from domain.shared import DomainEvent

if TYPE_CHECKING:
    from application.ports import UnitOfWork

SUMMARY_LENGTH = 280

Subject = tuple[str, uuid.UUID]
"""A workflow's subject as its events name it: ("ORDER" | "CUSTOMER" | "COMPLAINT", id)."""


@dataclass(frozen=True)
class ActivityRecord:
    customer_id: uuid.UUID
    at: datetime
    kind: str  # ActivityKind in the API
    actor_id: uuid.UUID | None
    department_id: uuid.UUID | None
    summary: str
    subject_type: str | None
    subject_id: uuid.UUID | None
    event_id: uuid.UUID


def _short(text: str) -> str:
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def _comment(text: object) -> str:
    return f": {text}" if text else ""


# Workflow events in the feed, and how each reads. Stage activations are left out: they are the engine
# moving on, not anybody's work.
WORKFLOW_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "workflow.started": lambda p: f"Workflow {p['definitionKey']} v{p['definitionVersion']} started",
    "workflow.step_decided": lambda p: f"{p['definitionKey']}: {p['stepName']} — {p['status']}"
                                       f"{_comment(p.get('comment'))}",
    "workflow.step_delegated": lambda p: f"{p['definitionKey']}: {p['stepName']} delegated{_comment(p.get('comment'))}",
    "workflow.completed": lambda p: f"Workflow {p['definitionKey']} completed",
    "workflow.rejected": lambda p: f"Workflow {p['definitionKey']} rejected at {p['stepName']}"
                                   f"{_comment(p.get('comment'))}",
    "workflow.cancelled": lambda p: f"Workflow {p['definitionKey']} cancelled{_comment(p.get('reason'))}",
    # escalated by the workflow worker (no actor): shown under the step's department
    "workflow.step_overdue": lambda p: f"{p['definitionKey']}: {p['stepName']} overdue (was due "
                                       f"{datetime.fromisoformat(p['dueAt']).astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
}


# Complaint events in the feed (the complaint's customer is in every payload). SLA warnings and the
# escalation notices are the clock's business, not anybody's work, and stay in the complaint's timeline.
COMPLAINT_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "complaint.filed": lambda p: f"{p['number']} filed ({p['priority'].lower()} priority): {p['subject']}",
    "complaint.status_changed": lambda p: f"{p['number']} {p['from']} → {p['to']}{_comment(p.get('note'))}",
    "complaint.progress_recorded": lambda p: f"{p['number']} progress: {p['message']}",
    "complaint.assigned": lambda p: f"{p['number']} assigned to {p['assigneeName']}",
    "complaint.rated": lambda p: f"{p['number']} rated {p['satisfaction']}/5{_comment(p.get('comment'))}",
    "complaint.sla_breached": lambda p: f"{p['number']} {p['clock'].replace('_', ' ').lower()} target breached",
}


def _deal_moved(p: dict[str, Any]) -> str:
    return f"{p['number']} {p['fromStage']} → {p['stage']}: {p['amount']} {p['currency']}{_comment(p.get('lostReason'))}"


# Opportunity events in the feed: its opening and every stage change (edits of its details stay out).
OPPORTUNITY_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "opportunity.created": lambda p: f"{p['number']} opened in {p['stage']}: {p['amount']} {p['currency']}",
    "opportunity.stage_changed": _deal_moved,
    "opportunity.won": _deal_moved,
    "opportunity.lost": _deal_moved,
}


def subject_needing_customer(event: DomainEvent) -> Subject | None:
    """Workflow events name their subject, not its customer; for an ORDER (or COMPLAINT) subject the
    projection must look the customer up and pass it to `activity_for`. A CUSTOMER is its own."""
    if event.type in WORKFLOW_SUMMARIES and event.payload.get("subjectType") != "CUSTOMER":
        return event.payload["subjectType"], uuid.UUID(event.payload["subjectId"])
    return None


def activity_for(event: DomainEvent, customers: Mapping[Subject, uuid.UUID] | None = None) -> ActivityRecord | None:
    """The feed entry for an event, or None when the event does not show in the feed.

    `customers` maps the subjects that `subject_needing_customer` named to their customer; a workflow
    event whose customer is unknown (e.g. a subject type without a lookup yet) is left out.
    """
    p = event.payload
    if event.type == "order.created":
        return ActivityRecord(uuid.UUID(p["customerId"]), event.occurred_at, "ORDER", event.actor_id, None,
                              f"Order {p['number']} created: {p['total']} {p['currency']}", "Order",
                              event.aggregate_id, event.id)
    if event.type in ORDER_STATUS_EVENTS:
        return ActivityRecord(uuid.UUID(p["customerId"]), event.occurred_at, "ORDER", event.actor_id, None,
                              f"Order {p['number']} {p['from']} → {p['to']}: {p['total']} {p['currency']}", "Order",
                              event.aggregate_id, event.id)
    if event.type == "order.advance_payment_changed":
        return ActivityRecord(uuid.UUID(p["customerId"]), event.occurred_at, "ORDER", event.actor_id, None,
                              f"Order {p['number']}: advance payment {p['from']} → {p['to']}", "Order",
                              event.aggregate_id, event.id)
    if event.type in OPPORTUNITY_SUMMARIES:
        return ActivityRecord(uuid.UUID(p["customerId"]), event.occurred_at, "OPPORTUNITY", event.actor_id, None,
                              _short(OPPORTUNITY_SUMMARIES[event.type](p)), "Opportunity", event.aggregate_id,
                              event.id)
    if event.type in WORKFLOW_SUMMARIES:
        subject_type, subject_id = p["subjectType"], uuid.UUID(p["subjectId"])
        customer_id = subject_id if subject_type == "CUSTOMER" else (customers or {}).get((subject_type, subject_id))
        if customer_id is None:
            return None
        department = uuid.UUID(p["departmentId"]) if event.type == "workflow.step_overdue" else None
        return ActivityRecord(customer_id, event.occurred_at, "WORKFLOW", event.actor_id, department,
                              _short(WORKFLOW_SUMMARIES[event.type](p)), "WorkflowInstance", event.aggregate_id,
                              event.id)
    if event.type in COMPLAINT_SUMMARIES:
        department = p.get("entryDepartmentId")
        return ActivityRecord(uuid.UUID(p["customerId"]), event.occurred_at, "COMPLAINT", event.actor_id,
                              uuid.UUID(department) if department else None,
                              _short(COMPLAINT_SUMMARIES[event.type](p)), "Complaint", event.aggregate_id, event.id)
    if event.type == "campaign.response_recorded":
        return ActivityRecord(uuid.UUID(p["customerId"]), event.occurred_at, "CAMPAIGN", event.actor_id, None,
                              _short(f"Campaign {p['name']} ({p['channel']}): {p['from']} → {p['to']}"
                                     f"{_comment(p.get('note'))}"), "Campaign", event.aggregate_id, event.id)
    if event.type == "customer.created":
        return ActivityRecord(event.aggregate_id, event.occurred_at, "STAGE_CHANGE", event.actor_id, None,
                              f"Registered as {p['lifecycleStage']}", None, None, event.id)
    if event.type == "customer.stage_changed":
        reason = f": {p['reason']}" if p.get("reason") else ""
        return ActivityRecord(event.aggregate_id, event.occurred_at, "STAGE_CHANGE", event.actor_id, None,
                              _short(f"Stage {p['from']} → {p['to']}{reason}"), None, None, event.id)
    if event.type == "interaction.logged":
        rating = f" (rated {p['rating']}/5)" if p.get("rating") else ""
        return ActivityRecord(uuid.UUID(p["customerId"]), datetime.fromisoformat(p["occurredAt"]), "INTERACTION", event.actor_id,
                              uuid.UUID(p["departmentId"]) if p.get("departmentId") else None,
                              _short(f"{p['kind'].capitalize()}{rating}: {p['summary']}"), "Interaction",
                              event.aggregate_id, event.id)
    return None


class ActivityFeed(Protocol):
    """The projection's store (`uow.activity`)."""

    async def customers_of(self, subjects: set[Subject]) -> dict[Subject, uuid.UUID]:
        """The customer of each workflow subject (an order's customer ...), where known."""

    async def add(self, records: list[ActivityRecord]) -> None:
        """Store the entries; one without a department gets its actor's."""


async def project_activity(uow: "UnitOfWork", events: list[DomainEvent]) -> None:
    """The feed entries of `events` (a batch handler: one lookup and one write per batch, so a bulk import
    stays at a handful of statements)."""
    customers = await uow.activity.customers_of({s for s in map(subject_needing_customer, events) if s is not None})
    records = [r for r in (activity_for(e, customers) for e in events) if r is not None]
    if records:
        await uow.activity.add(records)
