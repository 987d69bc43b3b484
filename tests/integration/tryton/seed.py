"""Load the Tryton test data: a company in EUR with USD, GBP and JPY rates, products with costs, and posted
customer invoices. Runs inside the Tryton virtualenv (trytond + proteus), on a database whose modules
`trytond-admin` has activated:

    <tryton venv>/bin/python seed.py <trytond.conf> <database name>

tests/integration/tryton/server.py runs it once per Tryton version and caches the resulting database file.
The values are the ones tests/integration/test_tryton.py expects.
"""
from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

from proteus import Model, config as proteus_config
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
from trytond.modules.company.tests.tools import create_company

# 1 EUR = rate units of the currency (Tryton computes amount * to.rate / from.rate)
RATES = {"EUR": Decimal("1"), "USD": Decimal("1.10"), "GBP": Decimal("0.85"), "JPY": Decimal("160")}
ROUNDING = {"EUR": Decimal("0.01"), "USD": Decimal("0.01"), "GBP": Decimal("0.01"), "JPY": Decimal("1")}
# The demo orders' SKUs, with unit costs in EUR (Tryton keeps 4 decimals)
COSTS = {
    "TOOL-100": Decimal("112.5000"), "TOOL-220": Decimal("9.8765"), "FURN-010": Decimal("120.00"),
    "LOG-500": Decimal("700.00"), "ROBO-7": Decimal("30000.00"), "FOOD-33": Decimal("51.20"),
    "OPT-12": Decimal("2400.00"), "TEX-88": Decimal("150.00"),
}
# party code -> (credit limit, [(invoice amount, days before today it was dated, payment term days)]); each due
# date is either before the seeding day or ten years after it, so a cached database keeps giving the same answers
# (DEMO-0001: 1500.00 outstanding, 1000.00 overdue; DEMO-0003: 2500.00, all of it overdue)
PARTIES = {
    "DEMO-0001": (Decimal("5000.00"), [(Decimal("1000.00"), 60, 0), (Decimal("500.00"), 0, 3650)]),
    "DEMO-0002": (None, []),
    "DEMO-0003": (Decimal("20000.00"), [(Decimal("2500.00"), 45, 30)]),
}


def main(config_file: str, database: str) -> None:
    proteus_config.set_trytond(database=database, config_file=config_file)
    Currency = Model.get("currency.currency")
    Rate = Model.get("currency.currency.rate")
    currencies = {}
    for code, rate in RATES.items():
        found = Currency.find([("code", "=", code)])
        currency = found[0] if found else Currency(name=code, symbol=code, code=code, rounding=ROUNDING[code])
        currency.save()
        Rate(date=dt.date.min, rate=rate, currency=currency).save()
        currencies[code] = currency

    Party = Model.get("party.party")
    company_party = Party(name="Example Trading Ltd")
    company_party.save()
    create_company(party=company_party, currency=currencies["EUR"])
    create_chart()
    today = dt.date.today()
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(today=today))
    fiscalyear.click("create_period")
    accounts = get_accounts()

    Configuration = Model.get("party.configuration")
    party_config = Configuration(1)
    party_config.party_sequence = None  # codes are the CRM's customer codes
    party_config.save()

    Uom = Model.get("product.uom")
    unit, = Uom.find([("name", "=", "Unit")])
    Template = Model.get("product.template")
    for sku, cost in COSTS.items():
        template = Template(name=f"Product {sku}", default_uom=unit, type="goods", list_price=cost * 2)
        template.save()
        product, = template.products
        product.suffix_code = sku  # the product code is the template prefix (none) + this suffix
        product.cost_price = cost
        product.save()

    Term = Model.get("account.invoice.payment_term")
    Invoice = Model.get("account.invoice")
    Line = Model.get("account.invoice.line")
    terms = {}
    to_post = []
    for code, (limit, invoices) in PARTIES.items():
        party = Party(name=f"Customer {code}", code=code)
        if limit is not None:
            party.credit_limit_amount = limit
        party.save()
        for amount, days_ago, term_days in invoices:
            if term_days not in terms:
                term = Term(name=f"{term_days} days")
                line = term.lines.new(type="remainder")
                if term_days:
                    delta, = line.relativedeltas
                    delta.days = term_days
                term.save()
                terms[term_days] = term
            invoice = Invoice(type="out", party=party, payment_term=terms[term_days],
                              invoice_date=today - dt.timedelta(days=days_ago))
            invoice.lines.append(Line(account=accounts["revenue"], description="Goods", quantity=1, unit_price=amount))
            invoice.save()
            to_post.append(invoice.id)
    _post(database, to_post)


def _post(database: str, invoice_ids: list[int]) -> None:
    """Post through trytond itself: a client may not skip the warning about due dates in the past."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError

    config = proteus_config.get_config()
    extras: dict = {}
    while True:  # as trytond's dispatcher does: a TransactionError says which locks to take, then retry
        try:
            with Transaction().start(database, config.user, context={**config.context, "_skip_warnings": True},
                                     **extras) as transaction:
                Invoice = Pool().get("account.invoice")
                invoices = Invoice.browse(invoice_ids)
                Invoice.post(invoices)
                assert all(i.state == "posted" for i in invoices)
                transaction.commit()
            return
        except TransactionError as err:
            err.fix(extras)

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
