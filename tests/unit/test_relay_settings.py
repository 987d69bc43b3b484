"""Settings of the outbox relay: CRM_BROKER_URL (optional) and the relay's knobs."""
from __future__ import annotations

import pytest

from infrastructure.settings import Settings, SettingsError


def test_no_broker_by_default_and_sane_knobs() -> None:
    settings = Settings.from_env({})
    assert settings.broker_url is None and settings.broker_exchange == "crm.events"
    assert settings.relay_interval == 1.0 and settings.webhook_max_attempts == 10
    assert settings.relay_lease == 10.0  # a dead worker's claims run out within seconds
    assert settings.webhook_allow_private is False  # webhooks go to public addresses only unless a deployment says


@pytest.mark.parametrize(("value", "allowed"), [("true", True), ("TRUE", True), ("1", True), ("false", False),
                                                ("0", False), ("", False)])
def test_private_webhook_receivers_are_allowed_by_setting(value: str, allowed: bool) -> None:
    assert Settings.from_env({"CRM_WEBHOOK_ALLOW_PRIVATE": value}).webhook_allow_private is allowed


def test_broker_and_knobs_from_the_environment() -> None:
    settings = Settings.from_env({"CRM_BROKER_URL": " amqp://guest:guest@127.0.0.1:5672/ ",
                                  "CRM_BROKER_EXCHANGE": "crm.out", "CRM_RELAY_INTERVAL": "0.5",
                                  "CRM_WEBHOOK_TIMEOUT": "3", "CRM_WEBHOOK_MAX_ATTEMPTS": "4",
                                  "CRM_WEBHOOK_FIRST_RETRY": "2.5", "CRM_RELAY_LEASE": "4"})
    assert settings.relay_lease == 4.0
    assert settings.broker_url == "amqp://guest:guest@127.0.0.1:5672/" and settings.broker_exchange == "crm.out"
    assert (settings.relay_interval, settings.webhook_timeout, settings.webhook_max_attempts,
            settings.webhook_first_retry) == (0.5, 3.0, 4, 2.5)
    assert Settings.from_env({"CRM_BROKER_URL": "  "}).broker_url is None  # empty means unset


@pytest.mark.parametrize("env", [
    {"CRM_BROKER_URL": "http://rabbit:5672"},
    {"CRM_BROKER_EXCHANGE": " "},
    {"CRM_RELAY_INTERVAL": "0"},
    {"CRM_RELAY_LEASE": "0"},
    {"CRM_WEBHOOK_MAX_ATTEMPTS": "0"},
    {"CRM_WEBHOOK_MAX_ATTEMPTS": "three"},
    {"CRM_WEBHOOK_TIMEOUT": "-1"},
    {"CRM_WEBHOOK_ALLOW_PRIVATE": "maybe"},
])
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)
