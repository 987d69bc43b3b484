"""One Settings object, read from CRM_* environment variables with safe development defaults."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from infrastructure.external_settings import ExternalSystem, external_systems

# Signs tokens only where the test suite builds Settings itself (env "test"); anything read from the environment
# gets CRM_SECRET_KEY or, outside production, a random key generated once and kept in DEFAULT_SECRET_FILE.
TEST_SECRET = "test-suite-only-secret-never-valid-outside-env-test"
DEFAULT_SECRET_FILE = "var/secret_key"
SECRET_BYTES = 48
MIN_SECRET_LENGTH = 32
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/crm.db"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = TEST_SECRET
    env: str = "development"
    secret_source: str = "the test suite's built-in key"  # said at start-up (api/app.py)
    token_ttl_seconds: int = 8 * 3600
    token_max_ttl_seconds: int = 12 * 3600  # no token for a person lives longer (`crm token --ttl` included)
    max_query_depth: int = 12
    max_query_cost: int = 50_000  # estimated rows per document (api/common/cost.py): a 100-page x four 100-pages
    max_query_fields: int = 300  # fields per document, checked before validation (which is quadratic in them)
    max_upload_bytes: int = 64 * 1024 * 1024  # a multipart upload's body (imports)
    max_json_bytes: int = 1024 * 1024  # any other body (a JSON GraphQL request is a few kilobytes)
    # `crm serve`: seconds a connection may take to send a request's headers (slow-header connections), and an
    # idle keep-alive connection stays open
    http_header_timeout: float = 10.0
    http_keep_alive_timeout: int = 5
    import_batch_size: int = 500
    # PostgreSQL connections per process: a request holds one read connection, a mutation one more
    # connections kept open per process; overflow ones are closed whenever the load dips and opened again under it
    # (a connection's start-up and SSL negotiation cost a third of a hot read's throughput), so none by default
    db_pool_size: int = 15
    db_max_overflow: int = 0
    # of those, how many the hot reads' one statement keeps checked out between requests (infrastructure/db/reads.py
    # KeptConnections); None: half the pool; 0: none (each hot read checks one out of the pool and back)
    db_pool_kept: int | None = None
    # only the documents of this persisted-query manifest run (README "Trusted documents"); unset: any document
    trusted_documents: str | None = None
    # PostgreSQL timeouts (seconds): fail fast with SERVICE_UNAVAILABLE rather than hang with the database
    db_connect_timeout: float = 5.0
    db_statement_timeout: float = 30.0
    db_pool_timeout: float = 10.0  # waiting for a free connection in the pool
    # SIGTERM: `crm serve` and `crm worker` finish what is in flight for at most this long, then stop
    shutdown_grace: float = 10.0
    # events out (README "Events out"): the outbox relay in `crm worker`
    broker_url: str | None = None  # amqp://user:pass@host:5672/vhost; unset: no broker (DISABLED)
    broker_exchange: str = "crm.events"
    relay_interval: float = 1.0  # seconds an idle relay waits before looking again
    relay_lease: float = 10.0  # seconds a claim lasts unless the relay's heartbeat renews it (a dead relay's run out)
    webhook_timeout: float = 10.0  # seconds per POST
    webhook_max_attempts: int = 10  # then the delivery is parked
    webhook_first_retry: float = 10.0  # seconds after the first failure, doubling up to an hour
    webhook_allow_private: bool = False  # receivers on private/loopback addresses (on-premise, tests): SSRF otherwise
    # the integration sync in `crm worker` (application/integration_sync.py): seconds between passes, and how old a
    # unit cost's or a customer's receivables record may grow before it is asked for again
    integration_sync_interval: float = 300.0
    integration_sync_refresh: float = 86400.0
    # what the API tells about itself; None: yes, except in production (an attacker maps the schema with them)
    introspection: bool | None = None  # __schema / __type
    suggestions: bool | None = None  # "Did you mean ...?" in error messages
    graphiql: bool | None = None  # the GraphiQL page at GET /graphql
    federation_sdl: bool | None = None  # `_service { sdl }` for a federation gateway
    # requests per second and burst, per principal and per client IP (api/common/rate_limits.py); None: the
    # defaults (RATE_LIMITS) except in the test suite's mode; a rate of 0 turns a limit off
    rate_limit_rate: float | None = None
    rate_limit_burst: float | None = None
    rate_limit_ip_rate: float | None = None
    rate_limit_ip_burst: float | None = None
    # where the buckets live: None, in each process; redis://host:port/db, shared by every process using it (leased
    # in small batches, api/common/rate_limits.py); keys start with the prefix (several deployments on one Redis)
    rate_limit_store: str | None = None
    rate_limit_prefix: str = "crm:rate:"
    # seconds an HTTP GraphQL request may run before it is cancelled and answered TIMEOUT (api/common/timeouts.py); 0: no limit
    request_timeout: float = 30.0
    # OpenID Connect tokens beside the CRM's own (infrastructure/oidc.py): the provider, its JWKS, our audience
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_audience: str = "crm-api"
    database_listen_url: str | None = None  # LISTEN/NOTIFY's direct connection when CRM_DATABASE_URL is PgBouncer's
    db_pgbouncer: bool = False  # CRM_DATABASE_URL goes through PgBouncer (transaction pooling): no prepared-statement cache
    metrics_token: str | None = None  # production serves /metrics only to this bearer token (infrastructure/metrics.py)
    cors_origins: tuple[str, ...] | None = None  # web origins that may call the API; None: by mode (api/common/browsers.py)
    # ERP (product costs) and finance (receivables): infrastructure/external_settings.py, README "ERP and finance"
    erp: ExternalSystem = field(default_factory=ExternalSystem)
    finance: ExternalSystem = field(default_factory=ExternalSystem)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def rate_limit(self, per: str) -> tuple[float, float] | None:
        """(rate, burst) for `per` "principal" or "ip", or None: no limit."""
        prefix = "rate_limit_" if per == "principal" else "rate_limit_ip_"
        default_rate, default_burst = RATE_LIMITS[per] if self.env != "test" else (0.0, 0.0)
        rate, burst = getattr(self, prefix + "rate"), getattr(self, prefix + "burst")
        if burst is None:
            burst = default_burst if rate is None else rate * 10  # a rate of one's own: ten seconds' worth
        rate = default_rate if rate is None else rate
        return (rate, max(burst, 1.0)) if rate > 0 else None

    def describes(self, what: str) -> bool:
        """Whether the API offers `what` (introspection, suggestions, graphiql, federation_sdl): as set, else
        everywhere but in production."""
        value = getattr(self, what)
        return not self.is_production if value is None else bool(value)

    @property
    def kept_connections(self) -> int:
        """CRM_DB_POOL_KEPT, or half the pool."""
        return self.db_pool_size // 2 if self.db_pool_kept is None else self.db_pool_kept

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        mode = env.get("CRM_ENV", "development")
        secret_key, secret_source = _secret(env, mode)
        settings = cls(
            database_url=env.get("CRM_DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=secret_key, secret_source=secret_source,
            env=mode,
            trusted_documents=env.get("CRM_TRUSTED_DOCUMENTS", "").strip() or None,
            metrics_token=env.get("CRM_METRICS_TOKEN", "").strip() or None,
            database_listen_url=env.get("CRM_DATABASE_LISTEN_URL", "").strip() or None,
            rate_limit_store=env.get("CRM_RATE_LIMIT_STORE", "").strip() or None,
            rate_limit_prefix=env.get("CRM_RATE_LIMIT_PREFIX", "").strip() or "crm:rate:",
            **_flags(env),
            **_origins(env),
            **_oidc(env),
            **_relay_settings(env),
            **_numbers(env),
            **_external_systems(env),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.env not in ("development", "production", "test"):
            raise SettingsError(f"CRM_ENV must be development, production or test, not {self.env!r}")
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError("CRM_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if self.is_production and (self.secret_key == TEST_SECRET or len(self.secret_key) < MIN_SECRET_LENGTH):
            raise SettingsError("In production CRM_SECRET_KEY must be set to a random value of 32 or more characters.")
        if self.secret_key == TEST_SECRET and self.env != "test":
            raise SettingsError("The test suite's built-in key signs nothing outside CRM_ENV=test; set CRM_SECRET_KEY.")
        if self.broker_url is not None and not self.broker_url.startswith(("amqp://", "amqps://")):
            raise SettingsError("CRM_BROKER_URL must start with amqp:// or amqps://")
        if not self.broker_exchange or self.relay_interval <= 0 or self.relay_lease <= 0 or self.webhook_timeout <= 0 \
                or self.webhook_max_attempts < 1 or self.webhook_first_retry <= 0:
            raise SettingsError("CRM_BROKER_EXCHANGE must be set; CRM_RELAY_INTERVAL, CRM_RELAY_LEASE, CRM_WEBHOOK_TIMEOUT, "
                                "CRM_WEBHOOK_MAX_ATTEMPTS and CRM_WEBHOOK_FIRST_RETRY must be positive")

        if self.integration_sync_interval <= 0 or self.integration_sync_refresh <= 0:
            raise SettingsError("CRM_INTEGRATION_SYNC_INTERVAL and CRM_INTEGRATION_SYNC_REFRESH must be positive")
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise SettingsError("CRM_DB_POOL_SIZE must be at least 1 and CRM_DB_MAX_OVERFLOW at least 0")
        if not 0 <= self.kept_connections < self.db_pool_size + self.db_max_overflow:
            raise SettingsError("CRM_DB_POOL_KEPT must be 0 or more and less than CRM_DB_POOL_SIZE + CRM_DB_MAX_OVERFLOW")
        if min(self.db_connect_timeout, self.db_statement_timeout, self.db_pool_timeout) <= 0:
            raise SettingsError("CRM_DB_CONNECT_TIMEOUT, CRM_DB_STATEMENT_TIMEOUT and CRM_DB_POOL_TIMEOUT must be positive")
        if self.shutdown_grace < 0 or self.request_timeout < 0:
            raise SettingsError("CRM_SHUTDOWN_GRACE and CRM_REQUEST_TIMEOUT must be 0 or more")
        if self.rate_limit_store is not None and not self.rate_limit_store.startswith(("redis://", "rediss://")):
            raise SettingsError("CRM_RATE_LIMIT_STORE must start with redis:// or rediss:// (unset: in each process)")

        if self.max_query_cost < 1 or self.max_query_fields < 1:
            raise SettingsError("CRM_MAX_QUERY_COST and CRM_MAX_QUERY_FIELDS must be positive")
        if any(v is not None and v < 0 for v in (self.rate_limit_rate, self.rate_limit_burst, self.rate_limit_ip_rate,
                                                 self.rate_limit_ip_burst)):
            raise SettingsError("CRM_RATE_LIMIT, CRM_RATE_LIMIT_BURST, CRM_RATE_LIMIT_IP and CRM_RATE_LIMIT_IP_BURST "
                                "must not be negative")
        if min(self.max_upload_bytes, self.max_json_bytes, self.http_header_timeout,
               self.http_keep_alive_timeout, self.token_max_ttl_seconds) <= 0:
            raise SettingsError("CRM_MAX_UPLOAD_BYTES, CRM_MAX_JSON_BYTES, CRM_HTTP_HEADER_TIMEOUT, "
                                "CRM_HTTP_KEEP_ALIVE_TIMEOUT and CRM_TOKEN_MAX_TTL must be positive")

        if self.database_listen_url is not None and not self.database_listen_url.startswith(
                ("postgresql+asyncpg://", "postgresql://")):
            raise SettingsError("CRM_DATABASE_LISTEN_URL must start with postgresql+asyncpg:// (a direct connection)")
        if (self.db_pgbouncer or self.database_listen_url) and self.is_sqlite:
            raise SettingsError("CRM_DB_PGBOUNCER and CRM_DATABASE_LISTEN_URL are for PostgreSQL")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise SettingsError("CRM_METRICS_TOKEN must be 16 or more characters (it guards /metrics)")
        if self.trusted_documents is not None and not Path(self.trusted_documents).is_file():
            raise SettingsError(f"CRM_TRUSTED_DOCUMENTS must name a persisted-query manifest file, not "
                                f"{self.trusted_documents!r}")

        problems = self.erp.problems("CRM_ERP") + self.finance.problems("CRM_FINANCE")
        if problems:
            raise SettingsError("; ".join(problems))

    def ensure_sqlite_folder(self) -> None:
        """Create the folder of an embedded SQLite file (var/ by default)."""
        if self.is_sqlite and ":memory:" not in self.database_url:
            path = self.database_url.split(":///", 1)[1]
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)


def _secret(env: dict[str, str], mode: str) -> tuple[str, str]:
    """The signing key and where it came from: CRM_SECRET_KEY; else, outside production, a random key generated
    on first start and kept in CRM_SECRET_KEY_FILE (var/secret_key, mode 0600), so tokens and sealed webhook
    secrets outlive a restart and no two installations share a key. Production without one is refused (validate)."""
    if env.get("CRM_SECRET_KEY"):
        return env["CRM_SECRET_KEY"], "CRM_SECRET_KEY"
    if mode == "production":
        return "", "nothing (CRM_SECRET_KEY is not set)"
    path = Path(env.get("CRM_SECRET_KEY_FILE") or DEFAULT_SECRET_FILE)
    if path.exists():
        return _kept_secret(path), f"the key kept in {path}"
    key = secrets.token_urlsafe(SECRET_BYTES)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(key + "\n")
        os.link(draft, path)  # whole or not at all, and never over a key another process just made
    except FileExistsError:
        return _kept_secret(path), f"the key kept in {path}"
    except OSError as err:
        raise SettingsError(f"Cannot create the development key {path} ({err.strerror}); set CRM_SECRET_KEY.") from None
    finally:
        draft.unlink(missing_ok=True)
    return key, f"a new random key, generated and kept in {path}"


def _kept_secret(path: Path) -> str:
    try:
        key = path.read_text().strip()
    except OSError as err:
        raise SettingsError(f"Cannot read the development key {path} ({err.strerror}); set CRM_SECRET_KEY.") from None
    if len(key) < MIN_SECRET_LENGTH:
        raise SettingsError(f"The development key in {path} is shorter than {MIN_SECRET_LENGTH} characters; "
                            "delete the file to have a new one generated, or set CRM_SECRET_KEY.")
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # readable by others: the key signs ADMIN tokens
    return key


def _external_systems(env: dict[str, str]) -> dict[str, ExternalSystem]:
    try:
        return external_systems(env)
    except ValueError as err:
        raise SettingsError(str(err)) from None


NUMBERS: dict[str, tuple[str, type]] = {
    "CRM_DB_POOL_SIZE": ("db_pool_size", int), "CRM_DB_MAX_OVERFLOW": ("db_max_overflow", int),
    "CRM_DB_POOL_KEPT": ("db_pool_kept", int),
    "CRM_DB_CONNECT_TIMEOUT": ("db_connect_timeout", float), "CRM_DB_STATEMENT_TIMEOUT": ("db_statement_timeout", float),
    "CRM_DB_POOL_TIMEOUT": ("db_pool_timeout", float), "CRM_SHUTDOWN_GRACE": ("shutdown_grace", float),
    "CRM_REQUEST_TIMEOUT": ("request_timeout", float),
    "CRM_MAX_QUERY_COST": ("max_query_cost", int), "CRM_MAX_QUERY_FIELDS": ("max_query_fields", int),
    "CRM_RELAY_INTERVAL": ("relay_interval", float), "CRM_RELAY_LEASE": ("relay_lease", float),
    "CRM_WEBHOOK_TIMEOUT": ("webhook_timeout", float),
    "CRM_INTEGRATION_SYNC_INTERVAL": ("integration_sync_interval", float),
    "CRM_INTEGRATION_SYNC_REFRESH": ("integration_sync_refresh", float),
    "CRM_WEBHOOK_MAX_ATTEMPTS": ("webhook_max_attempts", int), "CRM_WEBHOOK_FIRST_RETRY": ("webhook_first_retry", float),
    "CRM_MAX_UPLOAD_BYTES": ("max_upload_bytes", int), "CRM_MAX_JSON_BYTES": ("max_json_bytes", int),
    "CRM_HTTP_HEADER_TIMEOUT": ("http_header_timeout", float),
    "CRM_HTTP_KEEP_ALIVE_TIMEOUT": ("http_keep_alive_timeout", int),
    "CRM_TOKEN_MAX_TTL": ("token_max_ttl_seconds", int),
    "CRM_RATE_LIMIT": ("rate_limit_rate", float), "CRM_RATE_LIMIT_BURST": ("rate_limit_burst", float),
    "CRM_RATE_LIMIT_IP": ("rate_limit_ip_rate", float), "CRM_RATE_LIMIT_IP_BURST": ("rate_limit_ip_burst", float),
}
RATE_LIMITS = {"principal": (20.0, 200.0), "ip": (100.0, 1000.0)}  # per second, burst


def _numbers(env: dict[str, str]) -> dict[str, object]:
    """The numeric settings (NUMBERS), only those set."""
    found: dict[str, object] = {}
    for variable, (name, kind) in NUMBERS.items():
        if variable in env:
            try:
                found[name] = kind(env[variable])
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                raise SettingsError(f"{variable} must be {what}, not {env[variable]!r}") from None
    return found


FLAGS: dict[str, str] = {"CRM_WEBHOOK_ALLOW_PRIVATE": "webhook_allow_private", "CRM_INTROSPECTION": "introspection",
                         "CRM_DB_PGBOUNCER": "db_pgbouncer",
                         "CRM_SUGGESTIONS": "suggestions", "CRM_GRAPHIQL": "graphiql",
                         "CRM_FEDERATION_SDL": "federation_sdl"}
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _flags(env: dict[str, str]) -> dict[str, bool]:
    """The on/off settings (FLAGS), only those set."""
    found: dict[str, bool] = {}
    for variable, name in FLAGS.items():
        value = env.get(variable, "").strip().lower()
        if value:  # empty: not set
            if value not in TRUE + FALSE:
                raise SettingsError(f"{variable} must be true or false, not {env[variable]!r}")
            found[name] = value in TRUE
    return found


def _oidc(env: dict[str, str]) -> dict[str, str]:
    """CRM_OIDC_ISSUER, CRM_OIDC_JWKS_URL and CRM_OIDC_AUDIENCE, only those set."""
    found = {name: env[variable].strip() for variable, name in (
        ("CRM_OIDC_ISSUER", "oidc_issuer"), ("CRM_OIDC_JWKS_URL", "oidc_jwks_url"),
        ("CRM_OIDC_AUDIENCE", "oidc_audience")) if env.get(variable, "").strip()}
    for name in ("oidc_issuer", "oidc_jwks_url"):
        if name in found and not found[name].startswith(("https://", "http://")):
            raise SettingsError(f"CRM_{name.upper()} must be an http(s) URL, not {found[name]!r}")
    return found


def _origins(env: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """CRM_CORS_ORIGINS, comma-separated (set but empty: none), only when set."""
    if "CRM_CORS_ORIGINS" not in env:
        return {}
    origins = tuple(o.strip().rstrip("/") for o in env["CRM_CORS_ORIGINS"].split(",") if o.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not rest or "/" in rest:
            raise SettingsError(f"CRM_CORS_ORIGINS takes origins such as https://crm.example.com, not {origin!r}")
    return {"cors_origins": origins}


def _relay_settings(env: dict[str, str]) -> dict[str, object]:
    """CRM_BROKER_URL and CRM_BROKER_EXCHANGE (only those set); the relay's numeric knobs are in NUMBERS."""
    found: dict[str, object] = {}
    if env.get("CRM_BROKER_URL", "").strip():
        found["broker_url"] = env["CRM_BROKER_URL"].strip()
    if "CRM_BROKER_EXCHANGE" in env:
        found["broker_exchange"] = env["CRM_BROKER_EXCHANGE"].strip()
    return found
