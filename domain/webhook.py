"""Webhooks: where domain events are POSTed, which events, and how often a failing delivery is retried.

Rules:
- OnlyAdminsRegisterWebhooks: a webhook sends every matching event of the whole CRM to an outside
  address, so only an ADMIN registers one.
- AWebhookNeedsAnHttpUrl: http or https, with a host, no credentials and no fragment.
- WebhooksGoToPublicAddresses: a webhook must not make the CRM call into its own network (SSRF):
  loopback, private, link-local, CGNAT, unique-local, multicast, unspecified and reserved addresses
  are refused, also when spelt oddly (`2130706433`, `0x7f000001`, `127.1`) or embedded in an IPv6
  address (`::ffff:127.0.0.1`, 6to4, NAT64), and `localhost` names. The URL's host is checked here;
  a name is checked again on every address it resolves to when a delivery connects
  (infrastructure/outbox/webhooks.py). A deployment may allow private receivers (on-premise, tests).
- EventNamesAreAggregateDotEvent: each entry is `<aggregate>.<event>` in lower snake case with a
  known aggregate (complaint.filed, order.confirmed, workflow.completed ...), or the list is just
  ["*"] for everything. Names are checked for form, not against a catalogue: new event types come
  with new features, and a webhook may subscribe to one before it is first raised.
- DeliveriesAreRetriedThenParked: a delivery that fails is tried again after the next delay of the
  retry schedule; after the last one it is parked (kept, visible, never tried again) so the events
  of the same aggregate behind it can go on.
"""
from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from domain.campaign import Campaign
from domain.complaint import Complaint
from domain.customer import Customer, Interaction
from domain.opportunity import Opportunity
from domain.order import Order
from domain.organisation import Staff
from domain.shared import InvalidInput, NotAuthorized
from domain.workflow import WorkflowInstance

ALL_EVENTS = "*"
MAX_URL_LENGTH = 2000
MAX_EVENT_TYPES = 50
EVENT_TYPE = re.compile(r"^([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*$")
AGGREGATE_TYPES = frozenset(cls.aggregate_type for cls in (Customer, Interaction, Staff, Order, WorkflowInstance,
                                                            Complaint, Campaign, Opportunity))


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
INET_ATON_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
CGNAT = ipaddress.ip_network("100.64.0.0/10")
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


def host_address(host: str) -> IPAddress | None:
    """The address a URL's host spells, in any form a resolver takes (dotted, `127.1`, `2130706433`,
    `0x7f000001`, `0177.0.0.1`, an IPv6 literal with or without a zone), or None for a name."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(INET_ATON_PART.match(p) for p in parts):
        return None
    numbers = [int(p[2:] or "0", 16) if p[:2].lower() == "0x" else int(p, 8 if p.startswith("0") else 10)
               for p in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        return None
    value = 0
    for n in leading:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (5 - len(parts)) + last)


def refused_address(address: IPAddress) -> str | None:
    """Why a webhook may not be delivered to this address (WebhooksGoToPublicAddresses), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in NAT64 or address in IPV4_COMPATIBLE) and int(address) > 1:
            embedded = ipaddress.IPv4Address(address.packed[-4:])
        if embedded is not None:
            reason = refused_address(embedded)
            return f"{reason}, embedded in IPv6" if reason else None
    for reason, hit in (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
                        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                        ("shared (CGNAT)", address in CGNAT), ("unique-local", address in UNIQUE_LOCAL),
                        ("private", address.is_private),
                        ("reserved", address.is_reserved or not address.is_global)):
        if hit:
            return reason
    return None


def check_host(host: str) -> None:
    """Raises InvalidInput unless the URL's host may receive webhooks (WebhooksGoToPublicAddresses)."""
    name = host.lower().strip("[]").rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        reason = "this machine"
    else:
        address = host_address(host)
        reason = refused_address(address) if address is not None else None
        name = str(address)
    if reason:
        raise InvalidInput(f"url must not point at {name} ({reason}): webhooks go to public receivers "
                           "(CRM_WEBHOOK_ALLOW_PRIVATE=true allows private ones).", field=("url",))


def check_url(value: str, *, allow_private: bool = False) -> str:
    url = value.strip()
    if not url:
        raise InvalidInput("url is required.", field=("url",))
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is longer than {MAX_URL_LENGTH} characters.", field=("url",))
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise InvalidInput(f"{url!r} is not a valid URL.", field=("url",)) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("url must start with http:// or https://.", field=("url",))
    if not parts.hostname:
        raise InvalidInput("url must name a host.", field=("url",))
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url must not carry credentials; receivers check the X-Signature header instead.",
                           field=("url",))
    if parts.fragment:
        raise InvalidInput("url must not have a #fragment.", field=("url",))
    if port == 0 or any(c.isspace() for c in url):
        raise InvalidInput(f"{url!r} is not a valid URL.", field=("url",))
    if not allow_private:
        check_host(parts.hostname)
    return url


def check_event_types(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Trimmed, de-duplicated (first occurrence kept) event types; ("*",) for all."""
    if not values:
        raise InvalidInput('events must name at least one event type, or be ["*"] for all.', field=("events",))
    if len(values) > MAX_EVENT_TYPES:
        raise InvalidInput(f"At most {MAX_EVENT_TYPES} event types per webhook.", field=("events",))
    chosen: dict[str, None] = {}
    for i, raw in enumerate(values):
        name = raw.strip()
        if name == ALL_EVENTS:
            if len(values) > 1:
                raise InvalidInput('"*" stands for every event and must be the only entry.', field=("events", str(i)))
            return (ALL_EVENTS,)
        match = EVENT_TYPE.match(name)
        if not match:
            raise InvalidInput(f"{raw!r} is not an event type such as complaint.filed or order.confirmed.",
                               field=("events", str(i)))
        if match.group(1) not in AGGREGATE_TYPES:
            known = ", ".join(sorted(AGGREGATE_TYPES))
            raise InvalidInput(f"{raw!r} names no known aggregate (one of {known}).", field=("events", str(i)))
        chosen.setdefault(name, None)
    return tuple(chosen)


@dataclass(frozen=True)
class Webhook:
    id: uuid.UUID
    url: str
    events: tuple[str, ...]
    created_at: datetime
    created_by: uuid.UUID | None = None
    active: bool = True

    @classmethod
    def register(cls, url: str, events: list[str] | tuple[str, ...], *, by: Staff, at: datetime,
                 id: uuid.UUID | None = None, allow_private: bool = False) -> "Webhook":
        """Raises NotAuthorized (OnlyAdminsRegisterWebhooks) or InvalidInput with the offending field."""
        if not (by.active and by.is_admin):
            raise NotAuthorized("Only an ADMIN registers webhooks.")
        return cls(id=id or uuid.uuid4(), url=check_url(url, allow_private=allow_private), events=check_event_types(events), created_at=at,
                   created_by=by.id)

    def wants(self, event_type: str) -> bool:
        return self.active and (self.events == (ALL_EVENTS,) or event_type in self.events)


@dataclass(frozen=True)
class RetrySchedule:
    """How long to wait after the n-th failed attempt; parked after `max_attempts` attempts.

    `delays[n - 1]` follows the n-th failure; there are max_attempts - 1 of them. Tests pass a
    schedule of their own (and a fake clock), so nothing waits for real."""

    delays: tuple[timedelta, ...] = field(default_factory=lambda: RetrySchedule.exponential().delays)

    @classmethod
    def exponential(cls, *, first: timedelta = timedelta(seconds=10), factor: float = 2.0,
                    cap: timedelta = timedelta(hours=1), max_attempts: int = 10) -> "RetrySchedule":
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if factor < 1 or first <= timedelta(0):
            raise ValueError("the delays must be positive and must not shrink")
        delays, delay = [], first
        for _ in range(max_attempts - 1):  # capped as it grows: first * factor ** n overflows a timedelta
            delays.append(min(delay, cap))
            delay = min(delay * factor, cap)
        return cls(tuple(delays))

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def next_attempt(self, failed_attempts: int, now: datetime) -> datetime | None:
        """When to try again after `failed_attempts` failures in a row; None means park it."""
        if failed_attempts < 1:
            raise ValueError("only a failed attempt schedules a retry")
        if failed_attempts >= self.max_attempts:
            return None
        return now + self.delays[failed_attempts - 1]

    def backoff(self, failures: int) -> timedelta:
        """The wait after `failures` failures in a row, for a destination that never parks (the broker):
        the schedule's delays, then its last one for as long as it takes."""
        if failures < 1 or not self.delays:
            return timedelta(0)
        return self.delays[min(failures, len(self.delays)) - 1]
