"""The access matrix of docs/security.md, driven by the table itself: the test reads the table from the page, and
every row is asked over GraphQL by thirteen people (member, key user and manager of SALES, SERVICE, FINANCE and
MARKETING, and an ADMIN) on both databases. Whether a person must be let through is what the page's cell for their role says, read
through CELLS (one meaning per cell text; a cell the page gains without a meaning here fails the test, and so
does a row without probes here), applied to the probe's target (its department, owner, starter ...).

Let through: no FORBIDDEN, in `errors` or in the payload's userErrors, and for what is hidden rather than refused
(a complaint) a non-null answer. A write an allowed person sends is made harmless where the rules allow it: a
stale `expectedVersion` (CONFLICT after the authority check), a loopback webhook URL, a blank name; where none
exists the write is real but touches only this module's own data, so the table can be asked in any order on the
shared database."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from api.common.relay import parse_global_id
from tests.conftest import Api, unique
from tests.e2e.test_import import upload

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROLES = ("MEMBER", "KEY_USER", "MANAGER", "ADMIN")
RANK = {"MEMBER": 0, "KEY_USER": 1, "MANAGER": 2, "ADMIN": 3}
STALE = 9999  # an expectedVersion no aggregate has: an allowed write ends in CONFLICT, nothing changes


@dataclass(frozen=True)
class Person:
    email: str
    role: str
    dept: str


PEOPLE = [Person(f"{dept.lower()}.{suffix}@example.com", role, dept)
          for dept in ("SALES", "SERVICE", "FINANCE", "MARKETING")
          for suffix, role in (("member", "MEMBER"), ("key", "KEY_USER"), ("manager", "MANAGER"))] + \
    [Person("admin@example.com", "ADMIN", "SALES")]


@dataclass(frozen=True)
class Target:
    """What a probe acts on, as far as the cells care."""
    dept: str | None = None  # the department concerned (the step's, the handling one, the one asked about)
    role: str = "MEMBER"  # the step's role
    owner: str | None = None  # the customer's or order's owner
    starter: str | None = None
    filer: str | None = None
    assignee: str | None = None
    step_depts: frozenset[str] = frozenset()
    names_key_user: bool = False  # the staff change is naming a KEY_USER of `dept`
    delegate: str | None = None


def _involved(p: Person, t: Target) -> bool:
    return p.dept in ("SERVICE", t.dept) or p.email in (t.filer, t.assignee, t.owner)


# What each cell text of the page means, for a person and a target.
CELLS: dict[str, Callable[[Person, Target], bool]] = {
    "yes": lambda p, t: True,
    "any": lambda p, t: True,
    "yes, with details": lambda p, t: True,
    "no": lambda p, t: False,
    "no (the report's floor)": lambda p, t: False,
    "name KEY_USERs of own dept only": lambda p, t: t.names_key_user and p.dept == t.dept,
    "if own dept owns a step": lambda p, t: p.dept in t.step_depts,
    "own dept, role at least the step's, or delegate":
        lambda p, t: (p.dept == t.dept and RANK[p.role] >= RANK[t.role]) or p.email == t.delegate,
    "the starter": lambda p, t: p.email == t.starter,
    "the starter, or a dept with a step": lambda p, t: p.email == t.starter or p.dept in t.step_depts,
    "own dept": lambda p, t: p.dept == t.dept,
    "if involved": _involved,
    "assignee or handling dept": lambda p, t: p.email == t.assignee or p.dept == t.dept,
    "take it themselves": lambda p, t: p.email == t.assignee and p.dept == t.dept,
    "handling dept": lambda p, t: p.dept == t.dept,
    "SERVICE": lambda p, t: p.dept == "SERVICE",
    "FINANCE": lambda p, t: p.dept == "FINANCE",
    "FINANCE, or the order's owner": lambda p, t: p.dept == "FINANCE" or p.email == t.owner,
    "FINANCE, or the customer's owner": lambda p, t: p.dept == "FINANCE" or p.email == t.owner,
    "MARKETING": lambda p, t: p.dept == "MARKETING",
    "the campaign's owner": lambda p, t: p.email == t.owner,
    "MARKETING, or the campaign's owner": lambda p, t: p.dept == "MARKETING" or p.email == t.owner,
    "SALES": lambda p, t: p.dept == "SALES",
    "its owner": lambda p, t: p.email == t.owner,
    "SALES, or its owner": lambda p, t: p.dept == "SALES" or p.email == t.owner,
    "own deals": lambda p, t: p.email == t.owner,
}


def doc_matrix() -> dict[str, dict[str, str]]:
    """The page's access matrix: operation -> role -> cell ("same" resolved to the cell on its left)."""
    section = DOC.read_text().split("## Access matrix", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["operation", *ROLES], header
    matrix: dict[str, dict[str, str]] = {}
    for line in lines[2:]:
        operation, *cells = [c.strip() for c in line.strip("|").split("|")]
        row: dict[str, str] = {}
        for role, cell in zip(ROLES, cells, strict=True):
            row[role] = row[ROLES[ROLES.index(role) - 1]] if cell == "same" else cell
        matrix[operation] = row
    return matrix


# ------------------------------------------------------------------------------------------------ the probes

Probe = Callable[[Api, Person, dict[str, Any]], Awaitable[tuple[bool, Target]]]


def let_through(body: dict[str, Any], hidden: Callable[[dict[str, Any]], bool] | None = None) -> bool:
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict):
            codes |= {e.get("code") for e in payload.get("userErrors") or []}
    assert not codes & {"INTERNAL_ERROR", "BAD_REQUEST", "GRAPHQL_VALIDATION_FAILED"}, body
    if "FORBIDDEN" in codes:
        return False
    return not (hidden is not None and hidden(body))


def gql(query: str, variables: Callable[[Person, dict[str, Any]], dict[str, Any]] | None = None,
        target: Callable[[Person, dict[str, Any]], Target] = lambda p, d: Target(),
        hidden: Callable[[dict[str, Any]], bool] | None = None) -> Probe:
    async def probe(api: Api, person: Person, data: dict[str, Any]) -> tuple[bool, Target]:
        response = await api.post(query, variables(person, data) if variables else None, as_=person.email)
        assert response.status_code == 200, response.text
        return let_through(response.json(), hidden), target(person, data)
    return probe


async def _import(api: Api, person: Person, data: dict[str, Any]) -> tuple[bool, Target]:
    response = await upload(api, "code,name,kind\n", as_=person.email)  # no rows: nothing imported
    assert response.status_code == 200, response.text
    return let_through(response.json()), Target()


async def _import_members(api: Api, person: Person, data: dict[str, Any]) -> tuple[bool, Target]:
    """`crm import campaign-members` has no GraphQL door: its use case, as the command runs it, with no rows."""
    from application.campaign_imports import ImportCampaignMembers, import_campaign_members
    from application.organisation import find_active_staff_by_email
    from domain.shared import NotAuthorized

    services = api.container.services
    actor = await find_active_staff_by_email(services.uow(), person.email)
    assert actor is not None
    try:
        await import_campaign_members(services.uow(), api.container.gateways.clock(), actor, ImportCampaignMembers(
            campaign_id=parse_global_id(data["campaign"])[1], rows=[]))
    except NotAuthorized:
        return False, CAMPAIGN_OWNER(person, data)
    return True, CAMPAIGN_OWNER(person, data)


def staff_change(change: Callable[[dict[str, Any]], dict[str, Any]], of: str, names_key_user: bool) -> Probe:
    return gql("mutation($i: UpdateStaffInput!) { updateStaff(input: $i) { userErrors { code } } }",
               lambda p, d: {"i": {"id": d["staff"][of], "expectedVersion": STALE, **change(d)}},
               lambda p, d: Target(dept=of.split(".")[0].upper(), names_key_user=names_key_user))


def instance(key: str, **kwargs: Any) -> Callable[[Person, dict[str, Any]], Target]:
    return lambda p, d: Target(starter="sales.member@example.com", step_depts=frozenset({"SALES", "FINANCE",
                                                                                          "WAREHOUSE"}), **kwargs)


def not_found(body: dict[str, Any]) -> bool:
    """A complaint write of someone who may not see it: NOT_FOUND, never a word that it exists."""
    return any(e["code"] == "NOT_FOUND" for payload in (body.get("data") or {}).values()
               for e in (payload or {}).get("userErrors") or [])


COMPLAINT = lambda p, d: Target(dept="SERVICE", filer="sales.member@example.com",  # noqa: E731
                                owner="sales.key@example.com")
ORDER_OWNER = lambda p, d: Target(owner="sales.member@example.com")  # noqa: E731
CUSTOMER_OWNER = lambda p, d: Target(owner="sales.key@example.com")  # noqa: E731
CAMPAIGN_OWNER = lambda p, d: Target(owner="marketing.member@example.com")  # noqa: E731
DEAL_OWNER_EMAIL = "sales.member@example.com"
DEAL_OWNER = lambda p, d: Target(owner=DEAL_OWNER_EMAIL)  # noqa: E731
REPORT = '{ profitability(from: "2020-01-01T00:00:00Z", to: "2040-01-01T00:00:00Z", groupBy: PRODUCT) { key } }'
NO_ID = "QXBpS2V5OjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"


def _unique_workflow(p: Person, d: dict[str, Any]) -> dict[str, Any]:
    return {"i": {"key": unique("matrix").lower(), "name": "Matrix probe", "subject": "ORDER", "steps": [
        {"key": "only", "name": "Only step", "departmentId": d["dept"]["SALES"], "kind": "APPROVAL",
         "requiredRole": "MEMBER", "stage": 1}]}}


PROBES: dict[str, list[Probe]] = {
    "read and edit customers, log interactions": [
        gql("query($c: String!) { customer(code: $c) { id } }", lambda p, d: {"c": d["customer"]["code"]},
            hidden=lambda b: b["data"]["customer"] is None),
        gql("mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"id": d["customer"]["id"], "expectedVersion": STALE, "name": "Matrix"}}),
        gql("mutation($i: LogInteractionInput!) { logInteraction(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"customerId": d["customer"]["id"], "kind": "CALL", "summary": "matrix"}}),
    ],
    "import customers (`importCustomers`, `crm import`)": [_import],
    "add staff, move them, set roles, deactivate": [
        gql("mutation($s: CreateStaffInput!) { createStaff(input: $s) { userErrors { code } } }",
            lambda p, d: {"s": {"name": " ", "email": f"{unique('m')}@matrix.example", "role": "MEMBER",
                                "departmentId": d["dept"][p.dept]}},
            lambda p, d: Target(dept=p.dept)),
        staff_change(lambda d: {"role": "KEY_USER"}, "sales.target", names_key_user=True),
        staff_change(lambda d: {"role": "KEY_USER"}, "finance.target", names_key_user=True),
        staff_change(lambda d: {"role": "MANAGER"}, "sales.target", names_key_user=False),
        staff_change(lambda d: {"active": False}, "sales.target", names_key_user=False),
        staff_change(lambda d: {"departmentId": d["dept"]["FINANCE"]}, "sales.target", names_key_user=False),
    ],
    "define workflows": [
        gql("mutation($i: DefineWorkflowInput!) { defineWorkflow(input: $i) { userErrors { code } } }",
            _unique_workflow, lambda p, d: Target(step_depts=frozenset({"SALES"}))),
    ],
    "start a workflow": [
        gql("mutation($i: StartWorkflowInput!) { startWorkflow(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"definitionKey": "advance-payment", "subjectId": d["orders"][p.email]}}),
    ],
    "decide a step": [
        gql("mutation($i: DecideStepInput!) { decideStep(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"instanceId": d["instance"], "stepKey": "sales-approval", "decision": "APPROVE",
                                "expectedVersion": STALE}},
            instance("sales-approval", dept="SALES", role="MANAGER")),
        gql("mutation($i: DecideStepInput!) { decideStep(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"instanceId": d["delegated"], "stepKey": "sales-approval", "decision": "APPROVE",
                                "expectedVersion": STALE}},
            instance("sales-approval", dept="SALES", role="MANAGER", delegate="finance.member@example.com")),
    ],
    "cancel a workflow": [
        gql("mutation($i: CancelWorkflowInput!) { cancelWorkflow(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"instanceId": d["instance"], "reason": "matrix", "expectedVersion": STALE}},
            instance("cancel")),
    ],
    "`overdueSteps`": [
        gql("query($d: ID) { overdueSteps(departmentId: $d) { totalCount } }", lambda p, d, dept=dept: {"d": d["dept"][dept]},
            lambda p, d, dept=dept: Target(dept=dept)) for dept in ("SALES", "FINANCE")
    ],
    "file a complaint": [
        gql("mutation($i: FileComplaintInput!) { fileComplaint(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"customerId": d["customer"]["id"], "categoryId": d["category"], "priority": "LOW",
                                "channel": "EMAIL", "subject": "matrix", "description": "matrix"}}),
    ],
    "see a complaint and its timeline": [
        gql("query($id: ID!) { complaint(id: $id) { id timeline { totalCount } } }", lambda p, d: {"id": d["complaint"]},
            COMPLAINT, hidden=lambda b: b["data"]["complaint"] is None),
    ],
    "transition / record progress": [
        gql("mutation($i: RecordProgressInput!) { recordProgress(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"complaintId": d["complaint"], "message": "matrix", "expectedVersion": STALE}},
            COMPLAINT, hidden=not_found),
        gql("mutation($i: TransitionComplaintInput!) { transitionComplaint(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"complaintId": d["complaint"], "to": "IN_PROGRESS", "expectedVersion": STALE}},
            COMPLAINT, hidden=not_found),
    ],
    "assign a complaint": [
        gql("mutation($i: AssignComplaintInput!) { assignComplaint(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"complaintId": d["complaint"], "assigneeId": d["staff"][p.email],
                                "expectedVersion": STALE}},
            lambda p, d: Target(dept="SERVICE", assignee=p.email), hidden=not_found),
        gql("mutation($i: AssignComplaintInput!) { assignComplaint(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"complaintId": d["complaint"], "assigneeId": d["staff"]["service.member@example.com"],
                                "expectedVersion": STALE}},
            lambda p, d: Target(dept="SERVICE", assignee="service.member@example.com"), hidden=not_found),
    ],
    "define categories, SLA policies, calendars": [
        gql("mutation($i: DefineCategoryInput!) { defineCategory(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"code": unique("zz-matrix"), "name": " "}}),
        gql("mutation($i: DefineCalendarInput!) { defineCalendar(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"name": " ", "timezone": "Europe/Berlin", "workingHours": []}}),
    ],
    "set a department's calendar": [
        gql("mutation($i: SetDepartmentCalendarInput!) { setDepartmentCalendar(input: $i) { userErrors { code } } }",
            lambda p, d, dept=dept: {"i": {"departmentId": d["dept"][dept], "calendarId": d["calendars"][dept]}},
            lambda p, d, dept=dept: Target(dept=dept)) for dept in ("SALES", "FINANCE")
    ],
    "`events` (the event feed)": [gql("{ events(first: 1) { edges { cursor } } }")],
    "`integrations` (health; `lastError` \"unreachable\")": [gql("{ integrations { name } }")],
    "register and list webhooks": [
        gql("{ webhooks { id } }"),
        gql("mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"url": "http://127.0.0.1/", "events": ["*"]}}),
    ],
    "issue, list and revoke API keys": [
        gql("{ apiKeys { id } }"),
        gql("mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"name": " ", "scopes": ["read"], "actsAsId": d["staff"]["admin@example.com"]}}),
        gql("mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"apiKeyId": NO_ID}}),
    ],
    "`auditLog`": [gql("{ auditLog(first: 1) { totalCount } }")],
    "`OrderLine.unitCost`, `Order.profitability` (policy)": [
        gql("query($id: ID!) { order(id: $id) { lines { unitCost { amount } } } }", lambda p, d: {"id": d["order"]},
            ORDER_OWNER),
        gql("query($id: ID!) { order(id: $id) { profitability { margin { amount } } } }",
            lambda p, d: {"id": d["order"]}, ORDER_OWNER),
    ],
    "`Customer.receivables` (policy)": [
        gql("query($c: String!) { customer(code: $c) { receivables { outstanding { amount } } } }",
            lambda p, d: {"c": d["customer"]["code"]}, CUSTOMER_OWNER),
    ],
    "`profitability` report (policy)": [gql(REPORT)],
    "create a campaign": [
        gql("mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"name": " ", "channel": "EMAIL"}}),
    ],
    "add members, record responses, start, complete or cancel it (`setCampaignStatus`), import members (`crm import campaign-members`)": [
        gql("mutation($i: AddCampaignMembersInput!) { addCampaignMembers(input: $i) { added userErrors { code } } }",
            lambda p, d: {"i": {"campaignId": d["campaign"], "customerIds": [d["customer"]["id"]], "dryRun": True}},
            CAMPAIGN_OWNER),
        gql("mutation($i: RecordCampaignResponseInput!) { recordCampaignResponse(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"campaignId": d["campaign"], "customerId": d["customer"]["id"], "status": "SENT"}},
            CAMPAIGN_OWNER),  # no member: NOT_FOUND once the authority check let one through
        gql("mutation($i: SetCampaignStatusInput!) { setCampaignStatus(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"campaignId": d["campaign"], "status": "PLANNED"}},
            CAMPAIGN_OWNER),  # the status it has: nothing changes once the authority check let one through
        _import_members,
    ],
    "read campaigns, their members and funnels": [
        gql("query($id: ID!) { campaign(id: $id) { funnel { count } members(first: 1) { totalCount } } }",
            lambda p, d: {"id": d["campaign"]}, hidden=lambda b: b["data"]["campaign"] is None),
        gql("{ campaigns(first: 1) { edges { node { id } } } }"),
    ],
    "`fieldAccess`, `setFieldAccess`": [
        gql("{ fieldAccess { field } }"),
        gql("mutation($i: SetFieldAccessInput!) { setFieldAccess(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"field": "UNIT_COST", "roles": [], "owner": True,
                                "departmentIds": ["RGVwYXJ0bWVudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"]}}),
    ],
    "`rollout` (every department's phase, checklist, training)": [gql("{ rollout { phase checklist { key } } }")],
    "`setRolloutPhase`, `setChecklistTarget`": [
        *(gql("mutation($i: SetRolloutPhaseInput!) { setRolloutPhase(input: $i) { userErrors { code } } }",
              lambda p, d, dept=dept: {"i": {"departmentId": d["dept"][dept], "phase": "DATA_COLLECTION",
                                             "expectedVersion": STALE}},
              lambda p, d, dept=dept: Target(dept=dept)) for dept in ("SALES", "FINANCE")),
        *(gql("mutation($i: SetChecklistTargetInput!) { setChecklistTarget(input: $i) { userErrors { code } } }",
              lambda p, d, dept=dept: {"i": {"departmentId": d["dept"][dept], "key": "no-such-item", "target": 1}},
              lambda p, d, dept=dept: Target(dept=dept)) for dept in ("SALES", "FINANCE")),
    ],
    "`markTrained` (the staff member's department)": [
        gql("mutation($i: MarkTrainedInput!) { markTrained(input: $i) { userErrors { code } } }",
            lambda p, d, who=who: {"i": {"staffId": d["staff"][f"{who}.target"], "trainedAt": "2999-01-01T00:00:00Z"}},
            lambda p, d, who=who: Target(dept=who.upper())) for who in ("sales", "finance")
    ],
    "`maturity` (the figures of every department, or a MANAGER's own)": [
        gql('{ maturity(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { departments { level } } }',
            target=lambda p, d: Target(dept=p.dept)),
    ],
    "read opportunities, their stages and the pipeline board": [
        gql("query($id: ID!) { opportunity(id: $id) { id stage { name } } }", lambda p, d: {"id": d["deal"]},
            hidden=lambda b: b["data"]["opportunity"] is None),
        gql("{ opportunityStages { id } pipeline { columns { count } } }"),
    ],
    "create opportunities (`createOpportunity`, `crm import opportunities`)": [
        gql("mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"customerId": d["customer"]["id"], "name": " ",
                                "amount": {"amount": "1", "currency": "EUR"}}}),
    ],
    "edit and move an opportunity": [
        gql("mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"opportunityId": d["deal"], "name": "Matrix", "expectedVersion": STALE}}, DEAL_OWNER),
        gql("mutation($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"opportunityId": d["deal"], "stageId": d["proposal"], "expectedVersion": STALE}},
            DEAL_OWNER),
    ],
    "define opportunity stages": [
        gql("mutation($i: DefineOpportunityStageInput!) { defineOpportunityStage(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"name": " ", "position": 999, "probability": 10, "kind": "OPEN"}}),
    ],
    "`forecast` (scoped: others' deals left out, never refused)": [
        gql("query($f: Date!, $t: Date!) { forecast(from: $f, to: $t, groupBy: OWNER) { key } }",
            lambda p, d: {"f": d["closing"], "t": d["closing"]}, lambda p, d: Target(dept="SALES", owner=DEAL_OWNER_EMAIL),
            hidden=lambda b: b["data"]["forecast"] == []),
    ],
    "`maturityThresholds` (what each maturity level needs)": [gql("{ maturityThresholds { key value } }")],
    "`setMaturityThreshold`": [
        gql("mutation($i: SetMaturityThresholdInput!) { setMaturityThreshold(input: $i) { userErrors { code } } }",
            lambda p, d: {"i": {"key": "no_such_figure", "value": 1}}),
    ],
}


# ------------------------------------------------------------------------------------------------ the data

@pytest.fixture(scope="module")
async def matrix_data(api: Api) -> dict[str, Any]:
    """Built once per backend: a customer of sales.key's, an order of sales.member's with a complaint and a
    workflow instance started by sales.member (another delegated to finance.member), two staff to change, an
    order per person to start a workflow on."""
    departments = (await api("{ departments { id code calendar { id } } }"))["departments"]
    dept = {d["code"]: d["id"] for d in departments}
    calendars = {d["code"]: (d["calendar"] or {}).get("id") for d in departments}
    staff = {s["email"]: s["id"] for s in (await api("{ staff(first: 100) { edges { node { id email } } } }"))[
        "staff"]["edges"] for s in [s["node"]]}
    for who in ("sales", "finance"):
        created = await api("mutation($s: CreateStaffInput!) { createStaff(input: $s) { staff { id } } }", {
            "s": {"name": "Matrix Target", "email": f"{unique(who)}@matrix.example", "role": "MEMBER",
                  "departmentId": dept[who.upper()]}})
        staff[f"{who}.target"] = created["createStaff"]["staff"]["id"]
    code = unique("MATRIX").upper()
    customer = (await api("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id code } } }",
                          {"i": {"code": code, "name": "Matrix Customer", "kind": "COMPANY",
                                 "ownerId": staff["sales.key@example.com"]}}))["createCustomer"]["customer"]

    async def order() -> str:
        created = await api("mutation($o: CreateOrderInput!) { createOrder(input: $o) { order { id } } }", {
            "o": {"customerId": customer["id"], "currency": "EUR", "ownerId": staff["sales.member@example.com"],
                  "lines": [{"sku": "WIDGET-1", "description": "Widget", "quantity": "1", "unitPrice": "10.00"}]}},
            as_="sales.member@example.com")
        return created["createOrder"]["order"]["id"]

    async def started() -> str:
        data = await api("""mutation($w: StartWorkflowInput!) {
            startWorkflow(input: $w) { instance { id } userErrors { code } } }""",
                         {"w": {"definitionKey": "advance-payment", "subjectId": await order()}},
                         as_="sales.member@example.com")
        return data["startWorkflow"]["instance"]["id"]

    the_order = await order()
    category = (await api("{ complaintCategories { id } }"))["complaintCategories"][0]["id"]
    complaint = (await api("""mutation($c: FileComplaintInput!) {
        fileComplaint(input: $c) { complaint { id } userErrors { code } } }""", {
        "c": {"customerId": customer["id"], "orderId": the_order, "categoryId": category, "priority": "LOW",
              "channel": "PHONE", "subject": "Matrix", "description": "Matrix"}},
        as_="sales.member@example.com"))["fileComplaint"]["complaint"]["id"]
    delegated = await started()
    data = await api("""mutation($i: DelegateStepInput!) { delegateStep(input: $i) { userErrors { code } } }""",
                     {"i": {"instanceId": delegated, "stepKey": "sales-approval",
                            "toStaffId": staff["finance.member@example.com"]}}, as_="sales.manager@example.com")
    assert not data["delegateStep"]["userErrors"], data
    campaign = (await api("""mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } } }""",
                          {"i": {"name": "Matrix campaign", "channel": "EMAIL"}},
                          as_="marketing.member@example.com"))["createCampaign"]["campaign"]["id"]
    closing = f"{2040 + int(unique('')[2:], 16) % 50}-{1 + int(unique('')[2:], 16) % 12:02d}-15"  # its own day
    deal = (await api("""mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) {
        opportunity { id } userErrors { code } } }""", {"i": {"customerId": customer["id"], "name": "Matrix deal",
                                                             "amount": {"amount": "10", "currency": "EUR"},
                                                             "expectedCloseDate": closing}},
                      as_=DEAL_OWNER_EMAIL))["createOpportunity"]["opportunity"]["id"]
    proposal = next(s["id"] for s in (await api("{ opportunityStages { id name } }"))["opportunityStages"]
                    if s["name"] == "Proposal")
    return {"deal": deal, "proposal": proposal, "closing": closing, "dept": dept, "calendars": calendars,
            "staff": staff, "customer": customer, "order": the_order, "campaign": campaign,
            "category": category, "complaint": complaint, "instance": await started(), "delegated": delegated,
            "orders": {p.email: await order() for p in PEOPLE}}


# ------------------------------------------------------------------------------------------------ the test

def test_every_row_of_the_page_has_probes_and_every_cell_a_meaning() -> None:
    matrix = doc_matrix()
    assert set(matrix) == set(PROBES), (set(matrix) ^ set(PROBES))
    assert {cell for row in matrix.values() for cell in row.values()} <= set(CELLS)


@pytest.mark.parametrize("operation", sorted(PROBES))
async def test_the_access_matrix(api: Api, matrix_data: dict[str, Any], operation: str) -> None:
    row = doc_matrix()[operation]
    wrong = []
    for number, probe in enumerate(PROBES[operation]):
        for person in PEOPLE:
            allowed, target = await probe(api, person, matrix_data)
            expected = CELLS[row[person.role]](person, target)
            if allowed != expected:
                wrong.append(f"probe {number}: {person.email} {'let through' if allowed else 'refused'}, "
                             f"the page says {row[person.role]!r}")
    assert not wrong, "\n".join(wrong)
