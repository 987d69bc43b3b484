"""What a database failure means to a client (infrastructure/db/faults.py), and the timeouts' settings."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import exc as sa

from application.ports import ServiceUnavailable, TransientFailure
from infrastructure.db.faults import database_fault
from infrastructure.settings import Settings, SettingsError


def wrapped(driver_error: Exception, *, invalidated: bool = False) -> sa.DBAPIError:
    """As SQLAlchemy raises a driver's error: a DBAPIError whose `orig` was raised from it."""
    try:
        try:
            raise driver_error
        except Exception as err:
            raise RuntimeError("adapted") from err
    except RuntimeError as adapted:
        return sa.InterfaceError("SELECT 1", {}, adapted, connection_invalidated=invalidated)


@pytest.mark.parametrize("err", [
    wrapped(asyncpg.InterfaceError("cannot perform operation: another operation is in progress")),
    wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    wrapped(asyncpg.SerializationError("could not serialize access")),
    wrapped(ValueError("whatever the driver said"), invalidated=True),
])
def test_a_failure_in_passing_is_transient(err: Exception) -> None:
    assert isinstance(database_fault(err), TransientFailure)


@pytest.mark.parametrize("err", [
    ConnectionRefusedError(111, "Connection refused"),
    asyncio.TimeoutError(),
    sa.TimeoutError("QueuePool limit reached, connection timed out"),
    wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
    wrapped(asyncpg.TooManyConnectionsError("sorry, too many clients already")),
])
def test_the_database_away_is_service_unavailable(err: Exception) -> None:
    assert isinstance(database_fault(err), ServiceUnavailable)


def test_a_retry_that_cannot_connect_is_unavailable_whatever_failed_before() -> None:
    try:
        try:
            raise wrapped(ValueError("lost"), invalidated=True)
        except sa.DBAPIError:
            raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as err:
        assert isinstance(database_fault(err), ServiceUnavailable)


@pytest.mark.parametrize("err", [
    ValueError("a bug"), KeyError("x"), asyncio.CancelledError(),
    sa.IntegrityError("INSERT", {}, Exception("duplicate key")),
    wrapped(asyncpg.UndefinedColumnError("column x does not exist")),
])
def test_anything_else_is_a_fault(err: BaseException) -> None:
    assert database_fault(err) is None


def test_timeouts_have_defaults_and_come_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (defaults.db_connect_timeout, defaults.db_statement_timeout, defaults.db_pool_timeout) == (5.0, 30.0, 10.0)
    settings = Settings.from_env({"CRM_DB_CONNECT_TIMEOUT": "1.5", "CRM_DB_STATEMENT_TIMEOUT": "20",
                                  "CRM_DB_POOL_TIMEOUT": "2"})
    assert (settings.db_connect_timeout, settings.db_statement_timeout, settings.db_pool_timeout) == (1.5, 20.0, 2.0)


def test_the_shutdown_grace_period_is_a_setting() -> None:
    assert Settings.from_env({}).shutdown_grace == 10.0
    assert Settings.from_env({"CRM_SHUTDOWN_GRACE": "2.5"}).shutdown_grace == 2.5


@pytest.mark.parametrize("env", [{"CRM_DB_CONNECT_TIMEOUT": "0"}, {"CRM_DB_STATEMENT_TIMEOUT": "-1"},
                                 {"CRM_DB_POOL_TIMEOUT": "soon"}, {"CRM_SHUTDOWN_GRACE": "-1"}])
def test_bad_timeouts_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)
