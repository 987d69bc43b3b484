"""Every object a client lists has a stable global `id`, standard (padded) base64 that `node` resolves back to
the same object, as visible as through the object's own queries; ids handed out unpadded before still work."""
from __future__ import annotations

import base64
from typing import Any

from api.common.relay import parse_global_id
from tests.conftest import Api
from tests.e2e import test_complaints as complaints
from tests.e2e import test_workflows as workflows

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on OrderLine { sku } ... on WorkflowStep { key status } ... on WorkItem { step { key } instance { id } }
  ... on Contact { name } ... on TimelineEntry { entryKind: kind } ... on Activity { kind summary } } }"""
ORDER = "query($id: ID) { order(id: $id) { id lines { id sku } workflows { id steps { id key status } } } }"
MY_WORK = """query($after: String) { myWork(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
  edges { node { id step { id key } instance { id } } } } }"""
CUSTOMER = """query($id: ID) { customer(id: $id) { id contacts { id name }
  activity(first: 20) { edges { node { id kind summary } } } } }"""
COMPLAINT = "query($id: ID) { complaint(id: $id) { id timeline(first: 10) { edges { node { id kind } } } } }"


def standard(global_id: str) -> str:
    """What a standard base64 decoder (atob, base64.b64decode) makes of it: it refuses unpadded text."""
    return base64.b64decode(global_id, validate=True).decode()


async def node(api: Api, global_id: str, as_: str = "admin@example.com") -> dict[str, Any] | None:
    return (await api(NODE, {"id": global_id}, as_=as_))["node"]


async def work_item_of(api: Api, instance_id: str, who: str) -> dict:
    """The instance's item in `who`'s inbox, page by page (other tests' workflows may fill the first pages)."""
    after = None
    while True:
        page = (await api(MY_WORK, {"after": after}, as_=who))["myWork"]
        found = [e["node"] for e in page["edges"] if e["node"]["instance"]["id"] == instance_id]
        if found or not page["pageInfo"]["hasNextPage"]:
            assert found, f"no work item of {instance_id} for {who}"
            return found[0]
        after = page["pageInfo"]["endCursor"]


async def test_lines_steps_and_work_items_have_ids_that_node_resolves(api: Api) -> None:
    order = await workflows.new_order(api, "12000")
    instance = await workflows.start(api, order["id"])
    seen = (await api(ORDER, {"id": order["id"]}))["order"]
    [line] = seen["lines"]
    assert standard(line["id"]) == f"OrderLine:{parse_global_id(order['id'])[1]}:0"
    assert await node(api, line["id"]) == {"__typename": "OrderLine", "id": line["id"], "sku": "ADV-1"}

    steps = {s["key"]: s for s in seen["workflows"][0]["steps"]}
    sales = steps["sales-approval"]
    assert standard(sales["id"]).startswith("WorkflowStep:")
    assert await node(api, sales["id"]) == {"__typename": "WorkflowStep", "id": sales["id"],
                                            "key": "sales-approval", "status": "ACTIVE"}

    item = await work_item_of(api, instance["id"], workflows.SALES_MANAGER)
    assert item["step"]["id"] == sales["id"] and standard(item["id"]).startswith("WorkItem:")
    assert await node(api, item["id"]) == {"__typename": "WorkItem", "id": item["id"],
                                           "step": {"key": "sales-approval"}, "instance": {"id": instance["id"]}}
    # after the decision the same id shows the step's new state: a client cache updates it in place
    await workflows.decided(api, instance, "sales-approval", "APPROVE", workflows.SALES_MANAGER)
    assert (await node(api, sales["id"]))["status"] == "APPROVED"

    for unknown in (f"{standard(line['id'])[:-1]}1", f"{standard(line['id'])[:-1]}x", f"{standard(sales['id'])}-no"):
        assert await node(api, base64.b64encode(unknown.encode()).decode()) is None, unknown


async def test_contacts_activity_and_timeline_entries_resolve_as_visible_as_their_lists(api: Api) -> None:
    setup = await complaints.setup_sla(api)
    customer = await complaints.new_customer(api)
    await api("""mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { code } } }""",
              {"input": {"id": customer["id"], "contacts": [{"name": "Ada Contact", "email": "ada@example.com"}]}})
    complaint = await complaints.file(api, customer, setup["category"], as_="service.member@example.com")
    seen = (await api(CUSTOMER, {"id": customer["id"]}))["customer"]
    [contact] = seen["contacts"]
    assert standard(contact["id"]).startswith("Contact:")
    assert await node(api, contact["id"]) == {"__typename": "Contact", "id": contact["id"], "name": "Ada Contact"}

    filed = next(e["node"] for e in seen["activity"]["edges"] if e["node"]["kind"] == "COMPLAINT")
    assert standard(filed["id"]).startswith("Activity:")
    assert await node(api, filed["id"]) == {"__typename": "Activity", **filed}

    [entry] = [e["node"] for e in (await api(COMPLAINT, {"id": complaint["id"]}))["complaint"]["timeline"]["edges"]]
    assert await node(api, entry["id"]) == {"__typename": "TimelineEntry", "id": entry["id"], "entryKind": "FILED"}

    # a warehouse member sees neither the complaint nor its entries, in lists or through node
    outsider = "warehouse.member@example.com"
    assert await node(api, entry["id"], as_=outsider) is None
    assert await node(api, filed["id"], as_=outsider) is None
    assert (await node(api, contact["id"], as_=outsider))["name"] == "Ada Contact"  # customers are for all staff


async def test_ids_are_padded_base64_and_old_unpadded_ones_still_work(api: Api) -> None:
    setup = await complaints.setup_sla(api)
    customer = await complaints.new_customer(api)
    complaint = await complaints.file(api, customer, setup["category"], as_="service.member@example.com")
    for global_id, type_name in ((customer["id"], "Customer"), (complaint["id"], "Complaint")):
        assert len(global_id) % 4 == 0 and standard(global_id).startswith(f"{type_name}:")
    padded = complaint["id"]
    assert padded.endswith("=")  # "Complaint:<uuid>" is 46 bytes: padding shows
    old = base64.urlsafe_b64encode(standard(padded).encode()).decode().rstrip("=")
    assert (await node(api, old)) == {"__typename": "Complaint", "id": padded}
    moved = await complaints.move(api, {"id": old}, "ACKNOWLEDGED")
    assert moved["userErrors"] == [] and moved["complaint"]["id"] == padded
