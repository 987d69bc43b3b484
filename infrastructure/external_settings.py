"""Settings of the ERP (product costs) and the finance system (receivables), read by infrastructure/settings.py.

    CRM_ERP=static|tryton            default static: costs from CRM_COSTS_FILE (default: the embedded demo file)
    CRM_ERP_URL, CRM_ERP_DB, CRM_ERP_USER, CRM_ERP_PASSWORD      Tryton's address, database and login
    CRM_ERP_TIMEOUT (s, 2), CRM_ERP_CACHE_SECONDS (60), CRM_ERP_BREAKER_FAILURES (3), CRM_ERP_BREAKER_RESET (s, 30)

    CRM_FINANCE=static|tryton        default: as CRM_ERP; receivables from CRM_RECEIVABLES_FILE when static
    CRM_FINANCE_URL, _DB, _USER, _PASSWORD, _TIMEOUT, _CACHE_SECONDS, _BREAKER_FAILURES, _BREAKER_RESET
                                     default: the CRM_ERP_* values (one Tryton is usually both)
"""
from __future__ import annotations

from dataclasses import dataclass

ADAPTERS = ("static", "tryton")


@dataclass(frozen=True)
class ExternalSystem:
    adapter: str = "static"
    url: str = "http://127.0.0.1:8000"
    database: str = "tryton"
    user: str = "admin"
    password: str = ""
    file: str = ""  # the static adapter's file; "" for the embedded demo file
    timeout_seconds: float = 2.0
    cache_seconds: float = 60.0
    breaker_failures: int = 3
    breaker_reset_seconds: float = 30.0

    def problems(self, prefix: str) -> list[str]:
        found = []
        if self.adapter not in ADAPTERS:
            found.append(f"{prefix} must be static or tryton, not {self.adapter!r}")
        if self.adapter == "tryton":
            if not self.url.startswith(("http://", "https://")):
                found.append(f"{prefix}_URL must start with http:// or https://")
            if not self.database or not self.user:
                found.append(f"{prefix}_DB and {prefix}_USER must be set")
        if self.timeout_seconds <= 0 or self.cache_seconds < 0 or self.breaker_failures < 1 \
                or self.breaker_reset_seconds <= 0:
            found.append(f"{prefix}_TIMEOUT, {prefix}_BREAKER_FAILURES and {prefix}_BREAKER_RESET must be positive, "
                         f"{prefix}_CACHE_SECONDS at least 0")
        return found


_TEXT = {"": "adapter", "_URL": "url", "_DB": "database", "_USER": "user", "_PASSWORD": "password"}
_NUMBERS = {"_TIMEOUT": ("timeout_seconds", float), "_CACHE_SECONDS": ("cache_seconds", float),
            "_BREAKER_FAILURES": ("breaker_failures", int), "_BREAKER_RESET": ("breaker_reset_seconds", float)}


def _read(env: dict[str, str], prefix: str, fallback: str | None, file_variable: str) -> ExternalSystem:
    values: dict[str, object] = {}

    def lookup(suffix: str) -> str | None:
        for name in (f"{prefix}{suffix}", f"{fallback}{suffix}" if fallback else None):
            if name and env.get(name, "").strip():
                return env[name].strip()
        return None

    for suffix, name in _TEXT.items():
        if (value := lookup(suffix)) is not None:
            values[name] = value.lower() if name == "adapter" else value
    for suffix, (name, kind) in _NUMBERS.items():
        if (value := lookup(suffix)) is not None:
            try:
                values[name] = kind(value)
            except ValueError:
                raise ValueError(f"{prefix}{suffix} must be a number, not {value!r}") from None
    if env.get(file_variable, "").strip():
        values["file"] = env[file_variable].strip()
    return ExternalSystem(**values)  # type: ignore[arg-type]


def external_systems(env: dict[str, str]) -> dict[str, ExternalSystem]:
    """`erp` and `finance` for Settings; raises ValueError on a number that is not one."""
    return {"erp": _read(env, "CRM_ERP", None, "CRM_COSTS_FILE"),
            "finance": _read(env, "CRM_FINANCE", "CRM_ERP", "CRM_RECEIVABLES_FILE")}
