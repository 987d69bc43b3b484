"""CRM_ERP_* and CRM_FINANCE_* settings: static by default, finance follows the ERP unless told otherwise."""
from __future__ import annotations

import pytest

from infrastructure.external_settings import ExternalSystem
from infrastructure.settings import Settings, SettingsError


def test_static_by_default_with_the_embedded_files() -> None:
    settings = Settings.from_env({})
    assert settings.erp == settings.finance == ExternalSystem()
    assert settings.erp.adapter == "static" and settings.erp.file == ""


def test_finance_follows_the_erp_unless_set() -> None:
    settings = Settings.from_env({
        "CRM_ERP": "Tryton", "CRM_ERP_URL": "http://erp.local:8000", "CRM_ERP_DB": "prod", "CRM_ERP_USER": "crm",
        "CRM_ERP_PASSWORD": "s3cret", "CRM_ERP_TIMEOUT": "1.5", "CRM_ERP_BREAKER_FAILURES": "5",
        "CRM_FINANCE_DB": "books", "CRM_FINANCE_CACHE_SECONDS": "0", "CRM_COSTS_FILE": "/ignored/for/tryton.json"})
    assert settings.erp == ExternalSystem(adapter="tryton", url="http://erp.local:8000", database="prod", user="crm",
                                          password="s3cret", file="/ignored/for/tryton.json", timeout_seconds=1.5,
                                          breaker_failures=5)
    assert settings.finance == ExternalSystem(adapter="tryton", url="http://erp.local:8000", database="books",
                                              user="crm", password="s3cret", timeout_seconds=1.5, cache_seconds=0,
                                              breaker_failures=5)


def test_a_static_finance_beside_a_tryton_erp() -> None:
    settings = Settings.from_env({"CRM_ERP": "tryton", "CRM_FINANCE": "static",
                                  "CRM_RECEIVABLES_FILE": "/data/receivables.json"})
    assert (settings.erp.adapter, settings.finance.adapter, settings.finance.file) == (
        "tryton", "static", "/data/receivables.json")


@pytest.mark.parametrize("env, message", [
    ({"CRM_ERP": "sap"}, "CRM_ERP must be static or tryton"),
    ({"CRM_ERP": "tryton", "CRM_ERP_URL": "erp.local:8000"}, "CRM_ERP_URL must start with http"),
    ({"CRM_ERP_TIMEOUT": "soon"}, "CRM_ERP_TIMEOUT must be a number"),
    ({"CRM_FINANCE_TIMEOUT": "0"}, "CRM_FINANCE_TIMEOUT"),
    ({"CRM_ERP_BREAKER_FAILURES": "0"}, "CRM_ERP_BREAKER_FAILURES"),
])
def test_bad_values_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
