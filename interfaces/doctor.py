"""``worksync doctor``: is this installation able to run, and if not, what to fix.

Each check answers ``ok``, ``warn`` (it runs, but something is missing or risky) or ``fail``
(it will not work), with a detail and, when not ok, what to do. The command exits 1 when a
check failed. Checks: the configuration (the settings parse, production safety), the
database (reachable, migrated), the read replica (a standby, and how far behind), Redis,
file storage (S3 bucket or local folder, written and removed), SMTP (connect, STARTTLS,
log-in) and the projections (state, runner, lag).
"""

from __future__ import annotations

import os
import smtplib
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psycopg
from pydantic import ValidationError

import migrations
from application.config import ConfigError, Settings
from projections import control

TIMEOUT = 5  # seconds for each network check


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def load_settings(factory: Callable[[], Settings]) -> tuple[Settings | None, list[Check]]:
    """The settings, or the configuration failure that prevents reading them."""
    try:
        settings = factory()
    except ValidationError as e:
        fields = ", ".join(
            str(err["loc"][0]) if err.get("loc") else "?" for err in e.errors(include_url=False)
        )
        return None, [
            fail("configuration", f"invalid settings: {fields}", "correct these variables")
        ]
    return settings, check_configuration(settings)


def check_configuration(settings: Settings) -> list[Check]:
    checks = []
    try:
        settings.check_safe()
        checks.append(ok("configuration", f"APP_ENV={settings.app_env}"))
    except ConfigError as e:
        checks.append(fail("configuration", str(e), "set strong, distinct secrets (32+ chars)"))
    if settings.is_production:
        if not settings.redis_url:
            checks.append(
                warn(
                    "configuration",
                    "REDIS_URL is unset: rate limits per process, no e-mail jobs, no reminders,"
                    " real-time events reach only this process's sockets",
                    "set REDIS_URL",
                )
            )
        if settings.metrics_enabled and not (settings.metrics_token or settings.metrics_bind):
            checks.append(
                warn(
                    "configuration",
                    "/metrics is served to anyone who reaches the API",
                    "set METRICS_TOKEN, or METRICS_BIND to an internal address",
                )
            )
        if not settings.cors_origins:
            checks.append(
                warn(
                    "configuration",
                    "CORS_ORIGIN is empty: browsers on another origin are refused",
                    "set CORS_ORIGIN to the web client's origin",
                )
            )
    return checks


def check_database(url: str | None) -> list[Check]:
    if not url:
        return [
            warn(
                "database",
                "DATABASE_URL is unset: the embedded PostgreSQL (development only) is used",
                "set DATABASE_URL to a PostgreSQL server",
            )
        ]
    try:
        with psycopg.connect(url, connect_timeout=TIMEOUT) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
            done = (
                {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
                if exists[0]
                else set()
            )
    except psycopg.Error as e:
        return [
            fail(
                "database",
                f"cannot connect: {first_line(e)}",
                "check DATABASE_URL (host, port, user, password, database) and that PostgreSQL"
                " accepts connections from here",
            )
        ]
    pending = [v for v, _ in migrations.migration_files() if v not in done]
    if pending:
        return [
            fail(
                "database",
                f"PostgreSQL {version}; {len(pending)} migration(s) not applied ({pending[0]}…)",
                "run `worksync migrate`",
            )
        ]
    return [ok("database", f"PostgreSQL {version}, {len(done)} migrations applied")]


def check_replica(url: str | None) -> list[Check]:
    if not url:
        return []
    try:
        with psycopg.connect(url, connect_timeout=TIMEOUT) as conn:
            standby, lag = conn.execute(
                "SELECT pg_is_in_recovery(),"
                " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
            ).fetchone()
    except psycopg.Error as e:
        return [
            fail(
                "read replica",
                f"cannot connect: {first_line(e)}",
                "check DATABASE_READ_URL, or unset it to read from the primary",
            )
        ]
    if not standby:
        return [
            warn(
                "read replica",
                "DATABASE_READ_URL is not a standby (not in recovery)",
                "point it at a streaming replica, or unset it",
            )
        ]
    behind = "no transaction replayed yet" if lag is None else f"last replay {float(lag):.1f} s ago"
    return [ok("read replica", f"streaming standby, {behind}")]


def check_redis(url: str | None) -> list[Check]:
    if not url:
        return [
            warn(
                "redis",
                "REDIS_URL is unset (single process only)",
                "set REDIS_URL for jobs, shared rate limits and real-time across processes",
            )
        ]
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        client.ping()
        version = client.info("server").get("redis_version", "?")
    except redis.RedisError as e:
        return [fail("redis", f"no answer: {first_line(e)}", "check REDIS_URL and that Redis runs")]
    finally:
        client.close()
    return [ok("redis", f"Redis {version} answers")]


def check_storage(settings: Settings) -> list[Check]:
    if settings.s3_bucket_name:
        import boto3
        import botocore.exceptions
        from botocore.config import Config

        client = boto3.client(
            "s3",
            region_name=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url or None,
            aws_access_key_id=settings.aws_access_key_id or None,
            aws_secret_access_key=settings.aws_secret_access_key or None,
            config=Config(
                connect_timeout=TIMEOUT, read_timeout=TIMEOUT, retries={"max_attempts": 1}
            ),
        )
        try:
            client.head_bucket(Bucket=settings.s3_bucket_name)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            return [
                fail(
                    "storage",
                    f"S3 bucket {settings.s3_bucket_name!r}: {first_line(e)}",
                    "create the bucket, or check S3_ENDPOINT_URL, S3_REGION and the credentials",
                )
            ]
        return [ok("storage", f"S3 bucket {settings.s3_bucket_name!r} reachable")]
    folder = settings.files_folder
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".doctor-{uuid.uuid4().hex}") as f:
            f.write(b"probe")
            f.flush()
    except OSError as e:
        return [
            fail(
                "storage",
                f"local folder {folder!r} not writable: {e.strerror}",
                "set FILES_DIR to a writable folder shared by every process, or S3_BUCKET_NAME",
            )
        ]
    checks = [ok("storage", f"local folder {folder!r} writable")]
    if settings.is_production:
        checks.append(
            warn(
                "storage",
                "files on a local folder: every API and projector process must share it",
                "use S3 (S3_BUCKET_NAME) or one volume mounted everywhere",
            )
        )
    return checks


def check_smtp(settings: Settings) -> list[Check]:
    if not settings.smtp_host:
        return [
            warn(
                "smtp",
                "SMTP_HOST is unset: e-mails are written to the log, not sent",
                "set SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASS, SMTP_FROM",
            )
        ]
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls()
                smtp.ehlo()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_pass or "")
            smtp.noop()
    except (OSError, smtplib.SMTPException) as e:
        return [
            fail(
                "smtp",
                f"{where}: {first_line(e)}",
                "check SMTP_HOST, SMTP_PORT, SMTP_STARTTLS and the credentials",
            )
        ]
    return [
        ok(
            "smtp",
            f"{where} accepts connections" + (" and the log-in" if settings.smtp_user else ""),
        )
    ]


def check_projections(
    url: str | None, names: list[str], policies: tuple[str, ...], max_lag: int
) -> list[Check]:
    if not url:
        return []
    try:
        rows = control.status(url, names, policies)
    except psycopg.Error as e:
        return [
            fail(
                "projections", f"cannot read their state: {first_line(e)}", "fix the database first"
            )
        ]
    checks = []
    for r in rows:
        if r.state == "failed":
            checks.append(
                fail(
                    f"projection {r.name}",
                    f"failed at {r.error_position}: {r.error}",
                    f"fix the cause, then `worksync projections resume {r.name}` (or `skip`"
                    " the event)",
                )
            )
        elif r.state == "paused":
            checks.append(
                warn(
                    f"projection {r.name}",
                    f"paused at {r.position} ({r.lag} behind)",
                    f"`worksync projections resume {r.name}`",
                )
            )
        elif r.lag > max_lag:
            checks.append(
                fail(
                    f"projection {r.name}",
                    f"{r.lag} events behind the log head (READY_MAX_LAG={max_lag})",
                    "check that a projector runs (`worksync projector`) and keeps up",
                )
            )
    if not any(r.runner for r in rows):
        checks.append(
            warn(
                "projections",
                "no runner holds any projection now",
                "run `worksync projector` (or `worksync serve` without --no-projector)",
            )
        )
    if not checks:
        head = rows[0].head if rows else 0
        checks.append(ok("projections", f"{len(rows)} running, none behind (log head {head})"))
    return checks


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def run_checks(
    settings_factory: Callable[[], Settings],
    names: list[str],
    policies: tuple[str, ...],
) -> list[Check]:
    """Every check, in order; the configuration first (nothing else runs without it)."""
    settings, checks = load_settings(settings_factory)
    if settings is None:
        return checks
    database = check_database(settings.database_url)
    checks += database
    checks += check_replica(settings.database_read_url)
    checks += check_redis(settings.redis_url)
    checks += check_storage(settings)
    checks += check_smtp(settings)
    if all(c.status == "ok" for c in database):
        checks += check_projections(settings.database_url, names, policies, settings.ready_max_lag)
    return checks
