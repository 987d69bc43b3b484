"""The demo data a newcomer meets after `make run`: a Kanban with something in (nearly) every column."""
from __future__ import annotations

from application.demo import seed_demo
from tests.conftest import Api

ORDERS = """query($code: String) { customer(code: $code) { orders(first: 5) { edges { node {
  number status advancePayment workflows { status } } } } } }"""


async def demo_orders(api: Api) -> dict[str, tuple[str, str]]:
    found = {}
    for n in range(1, 8):
        [edge] = (await api(ORDERS, {"code": f"DEMO-{n:04d}"}))["customer"]["orders"]["edges"]
        found[f"DEMO-{n:04d}"] = (edge["node"]["status"], edge["node"]["advancePayment"])
    return found


async def test_the_demo_orders_spread_over_the_board_and_seeding_again_moves_nothing(api: Api) -> None:
    expected = {"DEMO-0001": ("SHIPPED", "NONE"), "DEMO-0002": ("DRAFT", "REQUESTED"),
                "DEMO-0003": ("CONFIRMED", "REQUESTED"), "DEMO-0004": ("CONFIRMED", "REQUESTED"),
                "DEMO-0005": ("IN_FULFILLMENT", "APPROVED"), "DEMO-0006": ("CANCELLED", "REJECTED"),
                "DEMO-0007": ("PAID", "NONE")}
    assert await demo_orders(api) == expected  # all seven were DRAFT: the demo Kanban was one full column
    added = await seed_demo(api.container.services.uow, api.container.gateways.clock())
    assert added["orders"] == 0 and await demo_orders(api) == expected
