"""Configuration from the spec's environment variables (pydantic-settings)."""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults, refused in production by check_safe (nosec: not real secrets).
DEFAULT_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"  # noqa: S105 # nosec B105
DEFAULT_JWT_REFRESH_SECRET = "dev-only-refresh-secret-change-me-0123456789"  # noqa: S105 # nosec B105

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int) -> int:
    """'15m' -> 900, '30d' -> 2592000, '3600' -> 3600 (seconds)."""
    if isinstance(value, int):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 900, 15m, 12h, 30d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class ConfigError(RuntimeError):
    """The configuration is unsafe or inconsistent; the service refuses to start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    app_env: str = Field(
        default="development", validation_alias=AliasChoices("APP_ENV", "NODE_ENV")
    )
    host: str = Field(default="127.0.0.1", validation_alias="HOST")
    port: int = Field(default=8000, validation_alias="PORT")
    api_version: str = Field(default="v1", validation_alias="API_VERSION")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    data_dir: str = Field(default=".worksync", validation_alias="WORKSYNC_DATA_DIR")
    db_pool_size: int = Field(default=10, validation_alias="DB_POOL_SIZE")

    jwt_secret: str = Field(default=DEFAULT_JWT_SECRET, validation_alias="JWT_SECRET")
    jwt_refresh_secret: str = Field(
        default=DEFAULT_JWT_REFRESH_SECRET, validation_alias="JWT_REFRESH_SECRET"
    )
    jwt_expires_in: int = Field(default=900, validation_alias="JWT_EXPIRES_IN")
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's proxy
    # headers): comma-separated addresses or networks, "*" for any. Everyone else's socket
    # peer address is the client address (rate limits, security events).
    forwarded_allow_ips: str = Field(default="127.0.0.1", validation_alias="FORWARDED_ALLOW_IPS")
    # How often a real-time server cuts off sockets whose token expired or login ended.
    realtime_auth_check_seconds: float = Field(
        default=15.0, gt=0, le=900, validation_alias="REALTIME_AUTH_CHECK_SECONDS"
    )
    jwt_refresh_expires_in: int = Field(
        default=30 * 86400, validation_alias="JWT_REFRESH_EXPIRES_IN"
    )
    bcrypt_rounds: int = Field(default=12, ge=4, le=20, validation_alias="BCRYPT_ROUNDS")

    cors_origin: str = Field(default="", validation_alias="CORS_ORIGIN")
    rate_limit_window_ms: int = Field(default=60000, validation_alias="RATE_LIMIT_WINDOW_MS")
    rate_limit_max_requests: int = Field(default=100, validation_alias="RATE_LIMIT_MAX_REQUESTS")

    rate_limit_enabled: bool = Field(default=True, validation_alias="RATE_LIMIT_ENABLED")
    rate_limit_user_per_hour: int = Field(default=1000, validation_alias="RATE_LIMIT_USER_PER_HOUR")
    # Login: per IP per minute, and failed attempts per account per 15 minutes.
    login_rate_ip_per_minute: int = Field(default=20, validation_alias="LOGIN_RATE_IP_PER_MINUTE")
    login_failures_per_account: int = Field(
        default=5, validation_alias="LOGIN_FAILURES_PER_ACCOUNT"
    )
    forgot_password_per_hour: int = Field(default=5, validation_alias="FORGOT_PASSWORD_PER_HOUR")
    rate_limit_prefix: str = Field(default="worksync", validation_alias="RATE_LIMIT_PREFIX")

    smtp_host: str | None = Field(default=None, validation_alias="SMTP_HOST")
    smtp_port: int = Field(default=587, validation_alias="SMTP_PORT")
    smtp_user: str | None = Field(default=None, validation_alias="SMTP_USER")
    smtp_pass: str | None = Field(default=None, validation_alias="SMTP_PASS")
    smtp_from: str = Field(
        default="WorkSync <no-reply@worksync.local>", validation_alias="SMTP_FROM"
    )
    smtp_starttls: bool = Field(default=False, validation_alias="SMTP_STARTTLS")
    # Where links in e-mails point (the web client).
    app_url: str = Field(default="http://127.0.0.1:8000", validation_alias="APP_URL")
    jobs_namespace: str = Field(default="worksync", validation_alias="JOBS_NAMESPACE")

    # Retention (application/retention.py): days kept, 0 = forever. Activities and
    # notifications go a month's partition at a time (migrations/0016).
    retention_activities_days: int = Field(
        default=365, ge=0, validation_alias="RETENTION_ACTIVITIES_DAYS"
    )
    retention_notifications_days: int = Field(
        default=180, ge=0, validation_alias="RETENTION_NOTIFICATIONS_DAYS"
    )
    retention_sessions_days: int = Field(
        default=30, ge=0, validation_alias="RETENTION_SESSIONS_DAYS"
    )
    retention_reset_tokens_days: int = Field(
        default=7, ge=0, validation_alias="RETENTION_RESET_TOKENS_DAYS"
    )
    retention_idempotency_days: int = Field(
        default=1, ge=0, validation_alias="RETENTION_IDEMPOTENCY_DAYS"
    )
    retention_security_events_days: int = Field(
        default=365, ge=0, validation_alias="RETENTION_SECURITY_EVENTS_DAYS"
    )
    # The projector's maintenance clock (partitions ahead, retention) once a day.
    maintenance_enabled: bool = Field(default=True, validation_alias="MAINTENANCE_ENABLED")
    # Workspace exports (application/exports.py) are kept this many days.
    exports_ttl_days: int = Field(default=7, ge=1, le=365, validation_alias="EXPORTS_TTL_DAYS")
    # Imports (application/imports.py): the largest file taken, refused before it is parsed.
    imports_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, validation_alias="IMPORTS_MAX_BYTES"
    )
    # Monthly partitions created this many months ahead by the maintenance job.
    partitions_ahead_months: int = Field(
        default=2, ge=1, le=24, validation_alias="PARTITIONS_AHEAD_MONTHS"
    )

    # Read-your-writes: how long a command waits for its projections before answering 202.
    projection_wait_timeout: float = Field(default=5.0, validation_alias="PROJECTION_WAIT_TIMEOUT")
    projection_batch_size: int = Field(default=500, validation_alias="PROJECTION_BATCH_SIZE")
    # /ready answers 503 while a projection stays more than READY_MAX_LAG events behind the
    # log head for longer than READY_LAG_SECONDS (or has no runner at all).
    ready_max_lag: int = Field(default=1000, ge=0, validation_alias="READY_MAX_LAG")
    ready_lag_seconds: float = Field(default=30.0, ge=0, validation_alias="READY_LAG_SECONDS")
    log_level: str = Field(default="info", validation_alias="LOG_LEVEL")
    # The critical path counts a task's estimated hours in working days of this many hours.
    working_hours_per_day: float = Field(
        default=8.0, gt=0, le=24, validation_alias="WORKING_HOURS_PER_DAY"
    )

    # Request limits (interfaces/http/body_limit.py): larger bodies get 413 while streaming
    # (JSON bodies, and any other media type); free-form JSON fields (settings) deeper or
    # larger get 422.
    max_json_body_bytes: int = Field(
        default=1_048_576, ge=1024, validation_alias="MAX_JSON_BODY_BYTES"
    )
    max_body_bytes: int = Field(default=65_536, ge=0, validation_alias="MAX_BODY_BYTES")
    max_json_depth: int = Field(default=20, ge=1, le=100, validation_alias="MAX_JSON_DEPTH")
    max_json_field_bytes: int = Field(
        default=65_536, ge=256, validation_alias="MAX_JSON_FIELD_BYTES"
    )

    # Files (application/files.py, application/adapters/files_storage.py): S3-compatible storage when
    # S3_BUCKET_NAME is set (S3_ENDPOINT_URL for MinIO and friends), else a local folder.
    s3_bucket_name: str | None = Field(default=None, validation_alias="S3_BUCKET_NAME")
    s3_region: str = Field(default="us-east-1", validation_alias="S3_REGION")
    s3_endpoint_url: str | None = Field(default=None, validation_alias="S3_ENDPOINT_URL")
    aws_access_key_id: str | None = Field(default=None, validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: str | None = Field(
        default=None, validation_alias="AWS_SECRET_ACCESS_KEY"
    )
    s3_part_size: int = Field(
        default=8 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3, validation_alias="S3_PART_SIZE"
    )
    files_dir: str | None = Field(default=None, validation_alias="FILES_DIR")
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, validation_alias="MAX_UPLOAD_BYTES"
    )
    files_allowed_types: str = Field(default="", validation_alias="FILES_ALLOWED_TYPES")
    files_url_ttl: int = Field(default=60, ge=1, le=604800, validation_alias="FILES_URL_TTL")
    files_presigned_redirect: bool = Field(
        default=True, validation_alias="FILES_PRESIGNED_REDIRECT"
    )
    clamd_url: str | None = Field(default=None, validation_alias="CLAMD_URL")
    # Webhooks (application/webhooks*.py): http:// endpoints and loopback/private/link-local
    # addresses are refused unless allowed (tests, development); retries for
    # WEBHOOKS_RETRY_SECONDS after a delivery's first attempt, an endpoint failing for
    # WEBHOOKS_DISABLE_AFTER_SECONDS is disabled.
    webhooks_allow_http: bool = Field(default=False, validation_alias="WEBHOOKS_ALLOW_HTTP")
    webhooks_allow_private: bool = Field(default=False, validation_alias="WEBHOOKS_ALLOW_PRIVATE")
    webhooks_retry_seconds: float = Field(
        default=86_400, gt=0, validation_alias="WEBHOOKS_RETRY_SECONDS"
    )
    webhooks_disable_after_seconds: float = Field(
        default=86_400, gt=0, validation_alias="WEBHOOKS_DISABLE_AFTER_SECONDS"
    )
    webhooks_backoff_seconds: float = Field(
        default=30, gt=0, validation_alias="WEBHOOKS_BACKOFF_SECONDS"
    )
    webhooks_timeout_seconds: float = Field(
        default=10, gt=0, le=60, validation_alias="WEBHOOKS_TIMEOUT_SECONDS"
    )

    # Operations (README "Deployment"): a streaming read replica for the API's queries
    # (commands and their read-your-writes wait stay on DATABASE_URL); Prometheus /metrics,
    # guarded by a bearer token, or served on an internal address only; Sentry.
    database_read_url: str | None = Field(default=None, validation_alias="DATABASE_READ_URL")
    metrics_enabled: bool = Field(default=True, validation_alias="METRICS_ENABLED")
    metrics_token: str | None = Field(default=None, validation_alias="METRICS_TOKEN")
    metrics_bind: str | None = Field(default=None, validation_alias="METRICS_BIND")
    sentry_dsn: str | None = Field(default=None, validation_alias="SENTRY_DSN")
    sentry_environment: str | None = Field(default=None, validation_alias="SENTRY_ENVIRONMENT")
    sentry_traces_sample_rate: float = Field(
        default=0.0, ge=0, le=1, validation_alias="SENTRY_TRACES_SAMPLE_RATE"
    )

    @field_validator("jwt_expires_in", "jwt_refresh_expires_in", mode="before")
    @classmethod
    def _duration(cls, value: str | int) -> int:
        return parse_duration(value)

    @property
    def is_production(self) -> bool:
        return self.app_env.lower() in ("production", "prod")

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origin.split(",") if o.strip()]

    @property
    def files_folder(self) -> str:
        """The local store's folder (when no bucket is configured)."""
        return self.files_dir or f"{self.data_dir}/files"

    def check_safe(self) -> None:
        """Refuse to run in production with development secrets or weak hashing."""
        if not self.is_production:
            return
        problems = []
        if self.jwt_secret == DEFAULT_JWT_SECRET or len(self.jwt_secret) < 32:
            problems.append("JWT_SECRET is the development default or shorter than 32 chars")
        if (
            self.jwt_refresh_secret == DEFAULT_JWT_REFRESH_SECRET
            or len(self.jwt_refresh_secret) < 32
        ):
            problems.append(
                "JWT_REFRESH_SECRET is the development default or shorter than 32 chars"
            )
        if self.jwt_secret == self.jwt_refresh_secret:
            problems.append("JWT_SECRET and JWT_REFRESH_SECRET must differ")
        if self.bcrypt_rounds < 12:
            problems.append("BCRYPT_ROUNDS must be at least 12 in production")
        if not self.database_url:
            problems.append("DATABASE_URL must be set in production (no embedded database)")
        if problems:
            raise ConfigError(
                "refusing to start in production: "
                + "; ".join(problems)
                + ". Set them in the environment."
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
