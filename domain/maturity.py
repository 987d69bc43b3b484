"""How far each department has come with the CRM, measured from what the service records: the figures' stable
keys, what each one means, and who may read them.

Three groups of figures: DEPARTMENTAL (does the department do its own work in the CRM?), COLLABORATIVE (do the
departments work together through it?) and ENTERPRISE (is it joined to the company's other systems?).

Rule LevelsByThresholds: every department stands at least at DEPARTMENTAL, the first level. It is COLLABORATIVE
when every DEPARTMENTAL and COLLABORATIVE figure with a threshold (THRESHOLDS, an ADMIN adjusts them) meets it, and
ENTERPRISE when, on top of that, every ENTERPRISE figure with a threshold meets its own. A figure without a value
(no base: no complaints to share, no staff) neither meets nor fails and holds nothing back, but a level needs
evidence: at least one of its own figures that are shares or medians must have a value (a department with no
collaborative work to measure is not collaborative).

Rule TheCompanyIsAsFarAsItsLeastAdvancedDepartment: the company's level is the lowest of its departments' levels
(of the departments the reader sees); its gaps are the biggest of the gaps of the departments at that level.

Rule TheThreeBiggestGaps: what holds a department back are the figures that fail a threshold of a level above its
own, the next level's first, the ones furthest from their threshold first (relative to the threshold, capped at
100 %), at most three; a level short only of evidence names its first figure that has no value.

Rule TheMaturityReportIsForAdminsAndManagers: an active ADMIN reads every department's figures, an active MANAGER
their own department's; nobody else reads them.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from domain.organisation import Role, Staff
from domain.shared import InvalidInput, NotAuthorized


class MaturityLevel(StrEnum):
    DEPARTMENTAL = "DEPARTMENTAL"
    COLLABORATIVE = "COLLABORATIVE"
    ENTERPRISE = "ENTERPRISE"


COUNT, SHARE, MINUTES = "count", "share", "minutes"


@dataclass(frozen=True)
class FigureDefinition:
    key: str
    label: str
    unit: str
    definition: str


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: float | None
    unit: str
    threshold: float | None = None
    meets: bool | None = None


RECORD_MODULES = ("customer", "interaction", "complaint", "order")  # the audit log's aggregate types

DEPARTMENTAL: tuple[FigureDefinition, ...] = (
    FigureDefinition("key_users", "Key users named", COUNT,
                     "the department's active staff with the role KEY_USER"),
    FigureDefinition("active_staff", "Active staff", COUNT, "the department's active staff (as they are now)"),
    FigureDefinition("trained_staff_share", "Trained staff", SHARE,
                     "of the department's active staff, the share marked trained (markTrained) before the period's "
                     "end; null without active staff"),
    FigureDefinition("active_staff_share", "Staff who recorded anything", SHARE,
                     "of the department's active staff, the share who wrote anything in the period (a row of the "
                     "audit log as its actor); null without active staff"),
    FigureDefinition("records_created", "Records created", COUNT,
                     "customers, interactions, complaints and orders created in the period by the department's staff "
                     "(the audit log's creations)"),
    *(FigureDefinition(f"records_created_{module}s", f"{module.title()}s created", COUNT,
                       f"{module}s created in the period by the department's staff") for module in RECORD_MODULES),
    FigureDefinition("customers", "The department's customers", COUNT,
                     "customers created by the department's staff before the period's end (those created before "
                     "the audit log: by their owner's department); the base of the data-quality figures"),
    FigureDefinition("customers_without_owner", "Customers without an owner", COUNT,
                     "of the department's customers, those without an owner"),
    FigureDefinition("customers_without_primary_contact", "Customers without a primary contact", COUNT,
                     "of the department's customers, those without a contact marked primary"),
    FigureDefinition("customers_without_code", "Customers without a code of their own", COUNT,
                     "of the department's customers, those with the CRM's generated code (C-nnnnnn) rather than the "
                     "company's customer number"),
    FigureDefinition("likely_duplicate_customers", "Likely duplicate customers", COUNT,
                     "of the department's customers, those whose name (trimmed, case ignored) another customer has "
                     "too, or with a contact e-mail address (case ignored) a contact of another customer has too"),
)


COLLABORATIVE: tuple[FigureDefinition, ...] = (
    FigureDefinition("progress_entries", "Complaint progress entries", COUNT,
                     "progress entries the department's staff recorded in the period on complaints whose SLA policy "
                     "sets an update interval; the base of `timely_progress_share`"),
    FigureDefinition("timely_progress_share", "Progress recorded within the update interval", SHARE,
                     "of those progress entries, the share recorded before the complaint's next-update clock had "
                     "breached, in business minutes of the policy's calendar: judged when the entry is recorded "
                     "(entries recorded before the service judged them: by the SLA worker's NEXT_UPDATE breach of the "
                     "entry's cycle); null without entries"),
    FigureDefinition("sla_compliance", "SLA compliance", SHARE,
                     "of the complaints filed in the period that the department handles and that have an SLA "
                     "policy, the share that breached neither first response nor resolution; null without any"),
    FigureDefinition("sales_read_progress_share", "Owners who read the progress in the system", SHARE,
                     "of the complaints filed in the period about customers the department's staff own, the share "
                     "whose owner read the complaint's timeline in the CRM before the period's end (complaint "
                     "reads); null without any"),
    FigureDefinition("median_minutes_to_sales_read", "Median minutes until the owner read it", MINUTES,
                     "of those complaints the owner read, the median wall-clock minutes from filing until the owner "
                     "first read the timeline; null without any"),
    FigureDefinition("workflow_throughput", "Workflow steps decided", COUNT,
                     "the department's workflow steps decided (approved, rejected or done) in the period"),
    FigureDefinition("median_step_wait_minutes", "Median wait of a workflow step", MINUTES,
                     "of those steps, the median wall-clock minutes from activation until the decision; null "
                     "without any"),
    FigureDefinition("steps_overdue", "Workflow steps overdue", COUNT,
                     "the department's workflow steps due in the period that were decided after their due time or "
                     "are still waiting for a decision past it"),
)

SECONDS = "seconds"

ENTERPRISE: tuple[FigureDefinition, ...] = (
    FigureDefinition("integrations_up_share", "Integrations up", SHARE,
                     "of the health samples of the systems joined to the CRM (ERP, finance, broker, webhooks: "
                     "`integrations`, DISABLED ones left out) taken in the period, the share UP: `crm worker` samples "
                     "each system every CRM_INTEGRATION_SYNC_INTERVAL seconds, and a period that includes the moment "
                     "the figures are read counts that reading as one more sample; the company's, the same for every "
                     "department; null without any sample"),
    FigureDefinition("orders_costed_share", "Orders with ERP costs", SHARE,
                     "of the orders created in the period that the department's staff own and whose lines the "
                     "integration sync (`crm worker`) has looked up in the ERP, the share for whose every line the "
                     "ERP has a unit cost in the order's currency (the profit and cost analysis needs them); null "
                     "without any"),
    FigureDefinition("customers_with_receivables_share", "Customers with receivables", SHARE,
                     "of the department's customers (those of the data-quality figures) that the integration sync "
                     "(`crm worker`) has looked up in finance, the share finance knows by their code (it keeps their "
                     "receivables); null without any"),
    FigureDefinition("outbox_lag_seconds", "Outbox lag", SECONDS,
                     "seconds since the oldest event of the outbox that some cursor-driven destination (the broker, "
                     "the fan-out to webhooks) has not taken yet, when the figures are read (0: none waiting; null: "
                     "no destination); the company's"),
    FigureDefinition("failed_deliveries", "Failed deliveries", COUNT,
                     "webhook deliveries given up on (parked) in the period, the company's"),
    FigureDefinition("partner_systems", "Partner systems joined to the graph", COUNT,
                     "API keys with the federation scope (a partner's subgraph or gateway, `crm apikey create "
                     "--scopes federation`) that called the API since the period began and were not revoked before "
                     "it, as their last use says; the company's; the subgraphs a gateway composes beside the CRM's are "
                     "not known to it"),
)

# What the collaborative figures are counted from (the read model counts and samples them per department):
PROGRESS_ENTRIES, LATE_PROGRESS = "progress_entries", "late_progress"
SLA_COMPLAINTS, SLA_MET = "sla_complaints", "sla_met"
OWNED_COMPLAINTS, OWNER_READ = "owned_complaints", "owner_read"
STEPS_DECIDED, STEPS_OVERDUE = "steps_decided", "steps_overdue"
COLLABORATIVE_COUNTS = (PROGRESS_ENTRIES, LATE_PROGRESS, SLA_COMPLAINTS, SLA_MET, OWNED_COMPLAINTS, OWNER_READ,
                        STEPS_DECIDED, STEPS_OVERDUE)
MINUTES_TO_READ, STEP_WAIT = "minutes_to_read", "step_wait"  # the medians' samples
COLLABORATIVE_MEDIANS = (MINUTES_TO_READ, STEP_WAIT)


def describe(definitions: tuple[FigureDefinition, ...]) -> str:
    return "; ".join(f"`{d.key}` ({d.unit}): {d.definition}" for d in definitions)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def median(values: list[float]) -> float | None:
    """The middle value, or the mean of the two middle ones (the read model computes it in SQL; this is the rule)."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    return float(ordered[n // 2]) if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def maturity_scope(actor: Staff) -> uuid.UUID | None:
    """Rule TheMaturityReportIsForAdminsAndManagers: None for every department (an ADMIN), a MANAGER's own
    department; NotAuthorized for anyone else."""
    if actor.active and actor.is_admin:
        return None
    if actor.active and actor.role is Role.MANAGER:
        return actor.department_id
    raise NotAuthorized("Only administrators and managers read the maturity figures.")


def check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("from and to need a time-zone offset.", field=("from" if start.tzinfo is None else "to",))
    if start >= end:
        raise InvalidInput("from must lie before to.", field=("to",))
    if end - start > timedelta(weeks=MAX_TREND_WEEKS - 2):
        raise InvalidInput("The period may be two years long at most.", field=("to",))


MAX_TREND_WEEKS = 106  # two years of weeks: a longer period is INVALID


@dataclass(frozen=True)
class Span:
    """A stretch the figures are counted over: the whole period (index 0) or one of its weeks (1, 2, ...: the
    calendar weeks from Monday 00:00 UTC that overlap the period, cut to it)."""

    index: int
    start: datetime
    end: datetime
    week_start: date | None = None  # the Monday, for a week


def spans(start: datetime, end: datetime) -> list[Span]:
    """The period and its weeks (check_period first)."""
    first = datetime.combine(start.astimezone(UTC).date(), time(), UTC)
    first -= timedelta(days=first.weekday())
    weeks = []
    while first < end:
        weeks.append(Span(len(weeks) + 1, max(first, start), min(first + timedelta(days=7), end), first.date()))
        first += timedelta(days=7)
    return [Span(0, start, end), *weeks]


@dataclass(frozen=True, kw_only=True)
class DepartmentalCounts:
    """What the departmental figures are computed from (the read model counts it in SQL)."""

    active_staff: int
    key_users: int
    trained_staff: int
    recording_staff: int  # active staff who wrote anything in the period
    created: dict[str, int]  # by module (RECORD_MODULES)
    customers: int
    without_owner: int
    without_primary_contact: int
    without_code: int
    likely_duplicates: int


def departmental_figures(counts: DepartmentalCounts) -> list[Figure]:
    """The DEPARTMENTAL figures in their declared order (no thresholds yet: the levels are still to come)."""
    values: dict[str, float | None] = {
        "key_users": counts.key_users,
        "active_staff": counts.active_staff,
        "trained_staff_share": share(counts.trained_staff, counts.active_staff),
        "active_staff_share": share(counts.recording_staff, counts.active_staff),
        "records_created": sum(counts.created.get(m, 0) for m in RECORD_MODULES),
        **{f"records_created_{m}s": counts.created.get(m, 0) for m in RECORD_MODULES},
        "customers": counts.customers,
        "customers_without_owner": counts.without_owner,
        "customers_without_primary_contact": counts.without_primary_contact,
        "customers_without_code": counts.without_code,
        "likely_duplicate_customers": counts.likely_duplicates,
    }
    return [Figure(d.key, d.label, values[d.key], d.unit) for d in DEPARTMENTAL]


@dataclass(frozen=True, kw_only=True)
class Measured:
    """Counts (COLLABORATIVE_COUNTS) and medians (COLLABORATIVE_MEDIANS) of one department, as the read model found
    them; a missing count is 0, a missing median null."""

    counts: dict[str, int]
    medians: dict[str, float | None]

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)


def collaborative_figures(measured: Measured) -> list[Figure]:
    """The COLLABORATIVE figures in their declared order."""
    entries = measured.count(PROGRESS_ENTRIES)
    values: dict[str, float | None] = {
        "progress_entries": entries,
        "timely_progress_share": share(entries - measured.count(LATE_PROGRESS), entries),
        "sla_compliance": share(measured.count(SLA_MET), measured.count(SLA_COMPLAINTS)),
        "sales_read_progress_share": share(measured.count(OWNER_READ), measured.count(OWNED_COMPLAINTS)),
        "median_minutes_to_sales_read": measured.medians.get(MINUTES_TO_READ),
        "workflow_throughput": measured.count(STEPS_DECIDED),
        "median_step_wait_minutes": measured.medians.get(STEP_WAIT),
        "steps_overdue": measured.count(STEPS_OVERDUE),
    }
    return [Figure(d.key, d.label, values[d.key], d.unit) for d in COLLABORATIVE]


@dataclass(frozen=True, kw_only=True)
class EnterpriseCounts:
    """What the company's enterprise figures are computed from, read once for every department."""

    samples: int  # health samples in the span, DISABLED ones left out (the reading now included, if in the span)
    samples_up: int
    oldest_waiting_at: datetime | None  # the oldest outbox event a destination has not taken
    destinations: int
    parked: int  # in the span
    now: datetime
    partners: int = 0  # federation API keys used since the span began


@dataclass(frozen=True, kw_only=True)
class JoinedCounts:
    """What a department's own enterprise figures are computed from (the integration sync's records)."""

    orders_looked_up: int = 0  # its orders of the span whose every line's cost the ERP was asked for
    orders_costed: int = 0  # of those, the ones with a cost for every line
    customers_looked_up: int = 0  # its customers finance was asked about
    customers_known: int = 0  # of those, the ones finance knows


def enterprise_figures(counts: EnterpriseCounts, joined: JoinedCounts) -> list[Figure]:
    """The ENTERPRISE figures in their declared order."""
    lag = None if not counts.destinations else 0.0 if counts.oldest_waiting_at is None else max(
        0.0, round((counts.now - counts.oldest_waiting_at).total_seconds(), 1))
    values: dict[str, float | None] = {
        "integrations_up_share": share(counts.samples_up, counts.samples),
        "orders_costed_share": share(joined.orders_costed, joined.orders_looked_up),
        "customers_with_receivables_share": share(joined.customers_known, joined.customers_looked_up),
        "outbox_lag_seconds": lag, "failed_deliveries": counts.parked, "partner_systems": counts.partners,
    }
    return [Figure(d.key, d.label, values[d.key], d.unit) for d in ENTERPRISE]


# ------------------------------------------------------------------------------------------ levels


@dataclass(frozen=True)
class Threshold:
    """What a level needs of one figure: at least (`at_most` False) or at most `default`, until an ADMIN sets it."""

    key: str
    level: MaturityLevel
    default: float
    at_most: bool = False

    def met_by(self, value: float, limit: float) -> bool:
        return value <= limit if self.at_most else value >= limit


_C, _E = MaturityLevel.COLLABORATIVE, MaturityLevel.ENTERPRISE
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("key_users", _C, 1),
    Threshold("trained_staff_share", _C, 0.8),
    Threshold("active_staff_share", _C, 0.6),
    Threshold("customers_without_owner", _C, 0, at_most=True),
    Threshold("timely_progress_share", _C, 0.8),
    Threshold("sla_compliance", _C, 0.9),
    Threshold("sales_read_progress_share", _C, 0.5),
    Threshold("median_minutes_to_sales_read", _C, 480, at_most=True),
    Threshold("median_step_wait_minutes", _C, 480, at_most=True),
    Threshold("steps_overdue", _C, 0, at_most=True),
    Threshold("integrations_up_share", _E, 1.0),
    Threshold("orders_costed_share", _E, 0.9),
    Threshold("customers_with_receivables_share", _E, 0.9),
    Threshold("outbox_lag_seconds", _E, 300, at_most=True),
    Threshold("failed_deliveries", _E, 0, at_most=True),
)
THRESHOLD_BY_KEY = {th.key: th for th in THRESHOLDS}
DEFINITION_BY_KEY = {d.key: d for d in (*DEPARTMENTAL, *COLLABORATIVE, *ENTERPRISE)}
LEVELS = tuple(MaturityLevel)  # lowest first
OWN_FIGURES = {level: frozenset(d.key for d in group) for level, group in (
    (MaturityLevel.DEPARTMENTAL, DEPARTMENTAL), (_C, COLLABORATIVE), (_E, ENTERPRISE))}


def describe_thresholds() -> str:
    return "; ".join(f"`{th.key}` {'at most' if th.at_most else 'at least'} {th.default:g} for {th.level.value}"
                     for th in THRESHOLDS)


def check_threshold(key: str, value: float | None) -> float | None:
    """The value an ADMIN may set for `key` (None: back to the default). InvalidInput fields follow
    SetMaturityThresholdInput."""
    if key not in THRESHOLD_BY_KEY:
        raise InvalidInput(f"No figure {key!r} has a threshold; these do: {', '.join(THRESHOLD_BY_KEY)}.",
                           field=("key",))
    if value is None:
        return None
    if value != value or value < 0 or (DEFINITION_BY_KEY[key].unit == SHARE and value > 1):
        raise InvalidInput("A threshold is a number of at least 0 (a share: from 0 to 1).", field=("value",))
    return float(value)


def limits_with(stored: dict[str, float]) -> dict[str, float]:
    """Every threshold's value: as an ADMIN set it, else the default."""
    return {th.key: stored.get(th.key, th.default) for th in THRESHOLDS}


@dataclass(frozen=True)
class Gap:
    level: MaturityLevel
    figure: str
    message: str
    shortfall: float  # how far off, relative to the threshold, capped at 1 (0: no value yet)


@dataclass(frozen=True)
class Assessment:
    level: MaturityLevel
    figures: list[Figure]  # with their thresholds and whether they meet them
    gaps: list[Gap]  # all of them, biggest first (the API shows three)


def _shown(value: float, unit: str) -> str:
    if unit == SHARE:
        return f"{round(value * 100):g} %"
    return f"{value:g}" + ("" if unit == COUNT else f" {unit}")


def _judged(figure: Figure, limits: dict[str, float]) -> Figure:
    threshold = THRESHOLD_BY_KEY.get(figure.key)
    if threshold is None:
        return figure
    limit = limits[figure.key]
    meets = None if figure.value is None else threshold.met_by(figure.value, limit)
    return Figure(figure.key, figure.label, figure.value, figure.unit, threshold=limit, meets=meets)


def _in_a_sentence(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, unless it begins an acronym ("SLA compliance")."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _gap(who: str, figure: Figure, threshold: Threshold) -> Gap:
    needs = f"{threshold.level.value.lower()} needs {'at most' if threshold.at_most else 'at least'} " \
            f"{_shown(figure.threshold or 0.0, figure.unit)}"
    if figure.value is None:
        return Gap(threshold.level, figure.key, f"{who}: {_in_a_sentence(figure.label)} not measured yet (no base in the "
                                                f"period); {needs}", 0.0)
    base = max(abs(figure.threshold or 0.0), 1.0 if figure.unit != SHARE else 0.01)
    shortfall = min(1.0, abs(figure.value - (figure.threshold or 0.0)) / base)
    return Gap(threshold.level, figure.key,
               f"{who}: {_in_a_sentence(figure.label)} {_shown(figure.value, figure.unit)}; {needs}", shortfall)


def assess(who: str, figures: list[Figure], limits: dict[str, float]) -> Assessment:
    """Rules LevelsByThresholds and TheThreeBiggestGaps, for the department called `who`."""
    judged = [_judged(f, limits) for f in figures]
    level, gaps = MaturityLevel.DEPARTMENTAL, []
    for above in LEVELS[1:]:
        needed = [(f, THRESHOLD_BY_KEY[f.key]) for f in judged
                  if f.key in THRESHOLD_BY_KEY and THRESHOLD_BY_KEY[f.key].level is above]
        failing = [_gap(who, f, th) for f, th in needed if f.meets is False]
        evidence = [f for f, _ in needed if f.unit in (SHARE, MINUTES) and f.key in OWN_FIGURES[above]]
        measured = any(f.value is not None for f in evidence)
        if not failing and not measured:
            failing = [_gap(who, f, THRESHOLD_BY_KEY[f.key]) for f in evidence[:1]]
        if not failing and measured and level is LEVELS[LEVELS.index(above) - 1]:
            level = above
        gaps += sorted(failing, key=lambda g: -g.shortfall)
    return Assessment(level, judged, gaps)


def company_level(levels: list[MaturityLevel]) -> MaturityLevel:
    """Rule TheCompanyIsAsFarAsItsLeastAdvancedDepartment (DEPARTMENTAL without departments)."""
    return min(levels, key=LEVELS.index, default=MaturityLevel.DEPARTMENTAL)


def company_gaps(assessments: list[Assessment], top: int = 3) -> list[Gap]:
    level = company_level([a.level for a in assessments])
    behind = [g for a in assessments if a.level is level for g in a.gaps if g.level is LEVELS[
        min(LEVELS.index(level) + 1, len(LEVELS) - 1)]]
    return sorted(behind, key=lambda g: -g.shortfall)[:top]
