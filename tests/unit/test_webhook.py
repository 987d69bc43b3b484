"""Webhooks in the domain: who registers them, which URLs and event names they take, and the retry
schedule that decides when a failing delivery is tried again or parked."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.organisation import Role, Staff
from domain.shared import InvalidInput, NotAuthorized
from domain.webhook import AGGREGATE_TYPES, RetrySchedule, Webhook, check_event_types, check_url

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def person(role: Role, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name="P", email=f"{uuid.uuid4().hex[:6]}@example.com", department_id=uuid.uuid4(),
                 role=role, active=active)


ADMIN = person(Role.ADMIN)


def test_an_admin_registers_a_webhook() -> None:
    hook = Webhook.register(" https://hooks.example.com/crm?token=abc ", ["complaint.filed", "order.confirmed"],
                            by=ADMIN, at=NOW)
    assert hook.url == "https://hooks.example.com/crm?token=abc"
    assert hook.events == ("complaint.filed", "order.confirmed") and hook.active
    assert hook.created_by == ADMIN.id and hook.created_at == NOW
    assert hook.wants("complaint.filed") and not hook.wants("complaint.assigned")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.KEY_USER, Role.MANAGER])
def test_only_admins_register_webhooks(role: Role) -> None:
    with pytest.raises(NotAuthorized):
        Webhook.register("https://example.com/h", ["*"], by=person(role), at=NOW)


def test_a_deactivated_admin_may_not_either() -> None:
    with pytest.raises(NotAuthorized):
        Webhook.register("https://example.com/h", ["*"], by=person(Role.ADMIN, active=False), at=NOW)


def test_star_wants_everything() -> None:
    hook = Webhook.register("http://hooks.example.com:9000/h", ["*"], by=ADMIN, at=NOW)
    assert hook.events == ("*",) and hook.wants("order.confirmed") and hook.wants("customer.created")


@pytest.mark.parametrize("url", ["http://example.com", "https://example.com:8443/a/b?c=d", "http://93.184.215.14:1/x",
                                 "HTTPS://EXAMPLE.COM/h", "https://[2606:4700::1111]/h", "http://[::ffff:8.8.8.8]/h",
                                 "http://8.8.8.8/h", "http://1.1.1.1./h"])
def test_http_and_https_urls_are_taken(url: str) -> None:
    assert check_url(url) == url


INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1/", "http://127.0.0.1:9000/h", "http://localhost/",
    "http://LocalHost./x", "http://api.localhost/", "http://10.0.0.5/", "http://172.16.0.1/", "http://172.31.255.254/",
    "http://192.168.1.1/", "http://100.64.0.1/", "http://0.0.0.0/", "http://0/", "http://2130706433/",
    "http://0x7f000001/", "http://127.1/", "http://0177.0.0.1/", "http://127.0.0.1./", "http://[::1]/", "http://[::]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/", "http://[64:ff9b::a00:1]/",
    "http://[2002:a9fe:a9fe::]/", "http://[fe80::1]/", "http://[fe80::1%25eth0]/", "http://[fd00::1]/",
    "http://[fc00::1]/", "http://224.0.0.1/", "http://239.255.255.250/", "http://[ff02::1]/", "http://255.255.255.255/",
    "http://192.0.2.1/", "http://240.0.0.1/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_refused_however_spelt(url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Webhook.register(url, ["*"], by=ADMIN, at=NOW)
    assert err.value.field == ("url",) and "CRM_WEBHOOK_ALLOW_PRIVATE" in str(err.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/h", "http://[fd00::1]/", "http://localhost/"])
def test_a_deployment_may_allow_private_receivers(url: str) -> None:
    assert Webhook.register(url, ["*"], by=ADMIN, at=NOW, allow_private=True).url == url


@pytest.mark.parametrize("url", ["", "   ", "ftp://example.com/x", "example.com/hook", "javascript:alert(1)",
                                 "http://", "https://user:pw@example.com/h", "https://example.com/h#frag",
                                 "http://example.com:99999/", "http://exa mple.com/", "https://" + "a" * 2000 + ".com"])
def test_other_urls_are_refused_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_url(url)
    assert err.value.field == ("url",)


def test_event_types_are_trimmed_and_deduplicated() -> None:
    assert check_event_types([" complaint.filed", "order.confirmed", "complaint.filed "]) == \
        ("complaint.filed", "order.confirmed")


@pytest.mark.parametrize(("events", "field"), [
    ([], ("events",)),
    (["complaint.filed", "Complaint.Filed"], ("events", "1")),
    (["complaint"], ("events", "0")),
    (["complaint.filed.extra"], ("events", "0")),
    (["complaints.filed"], ("events", "0")),  # no such aggregate
    (["order.confirmed", "*"], ("events", "1")),  # "*" only alone
    (["*", "order.confirmed"], ("events", "0")),
    ([f"order.e{i}" for i in range(51)], ("events",)),
])
def test_bad_event_types_are_refused_with_their_index(events: list[str], field: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as err:
        check_event_types(events)
    assert err.value.field == field


def test_every_aggregate_of_the_domain_can_be_subscribed_to() -> None:
    assert {"customer", "interaction", "staff", "order", "workflow", "complaint"} <= AGGREGATE_TYPES
    assert check_event_types([f"{a}.anything" for a in sorted(AGGREGATE_TYPES)])


def test_retry_schedule_waits_then_parks() -> None:
    schedule = RetrySchedule((timedelta(seconds=1), timedelta(seconds=5)))
    assert schedule.max_attempts == 3
    assert schedule.next_attempt(1, NOW) == NOW + timedelta(seconds=1)
    assert schedule.next_attempt(2, NOW) == NOW + timedelta(seconds=5)
    assert schedule.next_attempt(3, NOW) is None  # the third failure parks it
    with pytest.raises(ValueError):
        schedule.next_attempt(0, NOW)


def test_exponential_schedule_doubles_up_to_the_cap() -> None:
    schedule = RetrySchedule.exponential(first=timedelta(seconds=10), cap=timedelta(minutes=1), max_attempts=6)
    assert [d.total_seconds() for d in schedule.delays] == [10, 20, 40, 60, 60]
    assert RetrySchedule.exponential(max_attempts=1).next_attempt(1, NOW) is None
    with pytest.raises(ValueError):
        RetrySchedule.exponential(max_attempts=0)


def test_a_destination_that_never_parks_keeps_the_last_delay() -> None:
    schedule = RetrySchedule((timedelta(seconds=1), timedelta(seconds=4)))
    assert [schedule.backoff(n).total_seconds() for n in (0, 1, 2, 3, 10)] == [0, 1, 4, 4, 4]


def test_a_long_exponential_schedule_stays_at_the_cap() -> None:
    """Many attempts (CRM_WEBHOOK_MAX_ATTEMPTS=50) once overflowed timedelta and crashed the worker at start."""
    schedule = RetrySchedule.exponential(first=timedelta(seconds=1), cap=timedelta(hours=1), max_attempts=50)
    assert len(schedule.delays) == 49 and schedule.delays[0] == timedelta(seconds=1)
    assert schedule.delays[-1] == timedelta(hours=1)
