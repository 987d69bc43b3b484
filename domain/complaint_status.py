"""A complaint's priorities, statuses and status machine: the vocabulary the Complaint aggregate
(domain/complaint.py, which callers import them from) and the SLA clocks (domain/sla.py, a function of the
status history) share. StrEnum members compare equal to their values, so statuses and priorities from
another enum (or plain strings) work everywhere.
"""
from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class ComplaintStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_ON_CUSTOMER = "WAITING_ON_CUSTOMER"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


S = ComplaintStatus
ALLOWED_MOVES: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.OPEN: frozenset({S.ACKNOWLEDGED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.WAITING_ON_CUSTOMER, S.RESOLVED}),
    S.WAITING_ON_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset(),
}

# The resolution clock runs, pauses, stops (domain/sla.py).
RUNNING_STATUSES = frozenset({S.OPEN, S.ACKNOWLEDGED, S.IN_PROGRESS})
PAUSED_STATUSES = frozenset({S.WAITING_ON_CUSTOMER})
STOPPED_STATUSES = frozenset({S.RESOLVED, S.CLOSED})
