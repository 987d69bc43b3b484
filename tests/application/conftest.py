"""Use-case tests: an in-memory store, a fixed clock, two departments and a cast of staff."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from domain.organisation import Department, Role, Staff
from tests.application.fakes import FakeClock, InMemoryStore, RecordingPublisher


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def store(publisher: RecordingPublisher) -> InMemoryStore:
    return InMemoryStore(publisher)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Org:
    sales: Department
    service: Department
    admin: Staff
    sales_manager: Staff
    sales_key_user: Staff
    sales_member: Staff
    service_manager: Staff
    service_member: Staff
    retired: Staff  # inactive


@pytest.fixture
def org(store: InMemoryStore) -> Org:
    sales, service = store.add_department("SALES"), store.add_department("SERVICE")
    return Org(
        sales=sales,
        service=service,
        admin=store.add_staff(role=Role.ADMIN, department=sales, email="admin@example.com"),
        sales_manager=store.add_staff(role=Role.MANAGER, department=sales),
        sales_key_user=store.add_staff(role=Role.KEY_USER, department=sales),
        sales_member=store.add_staff(role=Role.MEMBER, department=sales),
        service_manager=store.add_staff(role=Role.MANAGER, department=service),
        service_member=store.add_staff(role=Role.MEMBER, department=service),
        retired=store.add_staff(role=Role.MEMBER, department=sales, active=False),
    )


def unchanged(store: InMemoryStore, before: dict[str, Any]) -> bool:
    return store.dump() == before
