"""The composition root: builds the event store, the services, the read pool, the projector,
for every entry point (the API's container, the jobs' services, the CLI's commands)."""

from __future__ import annotations

import gc
import select
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

import migrations
from application.adapters.exports import ExportRecords
from application.adapters.files_storage import open_scanner, open_storage
from application.adapters.imports import ImportRecords
from application.adapters.sessions import SessionStore
from application.adapters.store import EventStore, eventstore_env
from application.adapters.webhooks import HttpxTransport, PgDeliveryLog, delivery_exists
from application.audit import AuditService
from application.comments import CommentsService
from application.config import Settings
from application.exports import ExportsService
from application.files import FilesService, FileStoragePolicy, Storage
from application.files_content import allowed_types
from application.identity import IdentityService, PasswordHasher, Tokens
from application.imports import ImportsService
from application.kanban import KanbanService
from application.mail import LinkTokens, MailPolicy
from application.milestones import MilestonesService
from application.milestones_progress import MilestoneProgressPolicy
from application.notifications import NotificationsService
from application.notifications_policy import NotificationsPolicy
from application.projects import ProjectsService
from application.resources import ResourcesService
from application.resources_policy import WorkloadPolicy
from application.tasks import TasksService
from application.templates import TemplatesService
from application.templates_usage import TemplateUsagePolicy
from application.time_tracking import TimeTrackingService
from application.webhooks import WebhooksService, resolve_host
from application.webhooks_delivery import DeliveryRules, WebhookSender
from application.webhooks_policy import WebhooksPolicy
from application.workspaces import WorkspaceService
from interfaces.error_reporting import init_error_reporting
from interfaces.jobs.broker import configure_broker
from interfaces.jobs.exports_schedule import DramatiqExports, ThreadExports
from interfaces.jobs.files import OutboxFiles
from interfaces.jobs.imports_schedule import DramatiqImports, ThreadImports
from interfaces.jobs.mail import OutboxMail
from interfaces.jobs.notifications_schedule import DigestClock, OutboxDueReminder
from interfaces.jobs.retention import maintain
from interfaces.jobs.retention_schedule import MaintenanceClock
from interfaces.jobs.time_tracking_schedule import make_auto_stop_scheduler
from interfaces.jobs.webhooks_schedule import OutboxWebhooks
from interfaces.realtime import names
from projections import files_queries, identity_queries
from projections.base import Projection
from projections.engine import Projector
from projections.kanban_queries import BoardDocuments
from projections.outbox import OutboxDispatcher
from projections.policy import Policy
from projections.registry import affected_by, all_projections
from projections.waiter import ProjectionWaiter, ReplicaWaiter


def open_event_store(
    database_url: str, pool_size: int = 10, create_table: bool = False
) -> EventStore:
    store = EventStore(env=eventstore_env(database_url, pool_size, create_table))
    pool = store.recorder.datastore.pool
    # POSTGRES_PRE_PING gives the pool psycopg_pool's check_connection, whose retry loop
    # sleeps 1, 2, 4... s after each dead connection it meets: 15 s after the database
    # dropped five. Same check, but the first dead one has every idle one checked at once.
    assert pool._check is ConnectionPool.check_connection, "POSTGRES_PRE_PING is off"
    pool._check = purging_check(pool)
    return store


def purging_check(pool: ConnectionPool) -> Callable[[psycopg.Connection], None]:
    """A pool's checkout check (``check_connection``, one empty query) that, on a dead
    connection, checks every idle one at once (``pool.check()``: the dead are replaced), so
    a database that dropped all connections costs one retry pause, not one per connection."""

    def check(conn: psycopg.Connection) -> None:
        if untouched_since_used(conn):
            return
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            pool.check()
            raise

    return check


def untouched_since_used(conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
    """True when an idle pooled connection needs no round trip to be trusted: nothing has
    arrived on its socket since it was last used. A server that ends a session (terminated
    backend, restart, shutdown) sends an error and closes the socket, which makes it
    readable; then the pool's check runs its empty query and the dead one is replaced. One
    non-blocking ``select`` instead of a round trip per checkout, several per command.

    A peer that vanished without closing (no FIN) is not seen here, nor by the empty query
    until a TCP timeout: the statement fails instead, and is retried on a fresh connection
    (eventsourcing's recorder retries; ``interfaces/http/db.py`` retries a read once)."""
    if conn.closed or conn.broken:
        return False
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not readable


def async_purging_check(
    pool: Callable[[], AsyncConnectionPool],
) -> Callable[[psycopg.AsyncConnection], Awaitable[None]]:
    """``purging_check`` for an ``AsyncConnectionPool`` (given by a getter: the check is an
    argument of the pool's constructor)."""

    async def check(conn: psycopg.AsyncConnection) -> None:
        if untouched_since_used(conn):
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            await pool().check()
            raise

    return check


# A young collection every 20,000 allocations instead of 700: a request allocates thousands of
# objects, nearly all freed by reference counting, so the default collected several times per
# request for almost nothing.
HEAP_COLLECTION_THRESHOLDS = (20_000, 20, 20)


def settle_heap() -> None:
    """For a long-running process once it has started: what start-up built (modules, routes,
    schemas, pools: ~220,000 objects in an API worker) is kept out of the garbage collector's
    scans from now on (``gc.freeze``). Otherwise every full collection walks all of it again,
    about 100 ms with the event loop stopped, and collections were ~10 % of an API worker's
    CPU on card moves. Objects made later are collected as usual. Not for tests, which build
    many apps in one process: what is frozen is never collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*HEAP_COLLECTION_THRESHOLDS)


def migrate(database_url: str) -> list[str]:
    """Create the events table (eventsourcing's own DDL) and apply the read-model migrations."""
    open_event_store(database_url, pool_size=1, create_table=True).close()
    return migrations.apply(database_url)


# Every policy's name (``worksync projections status`` lists them beside the projections).
POLICY_NAMES = (
    MailPolicy.name,
    FileStoragePolicy.name,
    WorkloadPolicy.name,
    MilestoneProgressPolicy.name,
    NotificationsPolicy.name,
    TemplateUsagePolicy.name,
    WebhooksPolicy.name,
)


def link_tokens(settings: Settings) -> LinkTokens:
    return LinkTokens(settings.jwt_refresh_secret)


def all_policies(store: EventStore, settings: Settings) -> list[Policy]:
    """Every policy the service runs, beside the projections (projections/policy.py)."""
    return [
        MailPolicy(store, link_tokens(settings), settings.app_url),
        FileStoragePolicy(store),
        WorkloadPolicy(store),
        MilestoneProgressPolicy(store),
        NotificationsPolicy(store, link_tokens(settings), settings.app_url),
        TemplateUsagePolicy(store),
        WebhooksPolicy(store, webhook_event),
    ]


def webhook_event(event: object, position: int) -> tuple[str, dict] | None:
    """A workspace event as webhooks name and carry it: as real time does."""
    routed = names.route(event, position)
    return (routed.name, routed.payload) if routed is not None else None


def make_outbox_dispatcher(database_url: str, settings: Settings) -> OutboxDispatcher:
    """Delivers the policies' side effects: one deliverer per outbox kind."""
    return OutboxDispatcher(
        database_url,
        {
            "mail": OutboxMail(settings),
            "files": OutboxFiles(open_storage(settings)),
            "notification_due": OutboxDueReminder(settings),
            "webhooks": OutboxWebhooks(settings),
        },
    )


def make_maintenance_clock(settings: Settings) -> MaintenanceClock:
    """Partitions ahead and retention, once a day (queued with Redis, run inline without)."""

    return MaintenanceClock(settings, lambda: maintain(settings))


def make_projector(
    database_url: str, settings: Settings, store: EventStore | None = None
) -> Projector:
    """The projections, the policies, and the outbox dispatcher, in one runner."""
    init_error_reporting(settings, "projector")  # Sentry, when SENTRY_DSN is set
    store = store or open_event_store(database_url, pool_size=2)
    return Projector(
        all_projections(),
        database_url,
        store.mapper,
        batch_size=settings.projection_batch_size,
        policies=all_policies(store, settings),
        services=[
            make_outbox_dispatcher(database_url, settings),
            DigestClock(settings),
            make_maintenance_clock(settings),
        ],
    )


async def open_read_pool(database_url: str, size: int) -> AsyncConnectionPool:
    """The API's read pool. Each connection is checked as it is handed out (one empty
    query when something arrived on it while idle, ``untouched_since_used``): after the database dropped connections (restart, failover, terminated backends)
    the dead ones are replaced instead of failing the requests that get them
    (``async_purging_check``)."""
    pool = AsyncConnectionPool(
        database_url,
        min_size=2,
        max_size=size,
        open=False,
        kwargs={"autocommit": True},
        check=async_purging_check(lambda: pool),
    )
    await pool.open(wait=True, timeout=30)
    return pool


def make_identity(store: EventStore, settings: Settings) -> IdentityService:
    connect = store.recorder.datastore.get_connection
    sessions = SessionStore(connect, settings.jwt_refresh_secret, settings.jwt_refresh_expires_in)

    def memberships(user_id: UUID) -> list[tuple[UUID, str]]:
        with connect() as conn:
            return identity_queries.memberships_of(conn, user_id)

    return IdentityService(
        store,
        PasswordHasher(settings.bcrypt_rounds),
        Tokens(settings),
        sessions,
        link_tokens(settings),
        settings,
        memberships,
    )


def make_files(
    store: EventStore, settings: Settings, storage: Storage | None = None
) -> FilesService:
    """Files on the configured storage (S3 or the local folder), with the virus scan when
    CLAMD_URL is set."""
    connect = store.recorder.datastore.get_connection

    def locate(attachment_id: UUID) -> UUID | None:
        with connect() as conn:
            return files_queries.file_of_attachment(conn, attachment_id)

    def milestone_of(deliverable_id: UUID) -> UUID | None:
        with connect() as conn:
            return files_queries.milestone_of_deliverable(conn, deliverable_id)

    return FilesService(
        store,
        storage or open_storage(settings),
        allowed=allowed_types(settings.files_allowed_types),
        max_bytes=settings.max_upload_bytes,
        scanner=open_scanner(settings),
        locate=locate,
        milestone_of=milestone_of,
    )


def make_time_tracking(store: EventStore, settings: Settings) -> TimeTrackingService:
    """Timers schedule their auto-stop on the job queue (configure_broker first)."""
    return TimeTrackingService(store, make_auto_stop_scheduler(settings))


def open_time_tracking(
    settings: Settings, database_url: str, pool_size: int = 2
) -> TimeTrackingService:
    """The time-tracking service of a job worker, on its own event store (the caller
    closes ``service.store``)."""
    return make_time_tracking(open_event_store(database_url, pool_size=pool_size), settings)


def open_notifications(
    settings: Settings, database_url: str, pool_size: int = 2
) -> NotificationsService:
    """The notifications service of a job worker, on its own event store (the caller
    closes ``service.store``)."""
    return NotificationsService(
        open_event_store(database_url, pool_size=pool_size), link_tokens(settings)
    )


def open_templates(database_url: str, pool_size: int = 1) -> TemplatesService:
    """The templates service of a CLI command, on its own event store (the caller closes
    ``service.store``)."""
    return TemplatesService(open_event_store(database_url, pool_size=pool_size))


def make_webhooks(store: EventStore, settings: Settings) -> WebhooksService:
    connect = store.recorder.datastore.get_connection

    def exists(endpoint_id: UUID, delivery_id: UUID) -> bool:
        with connect() as conn:
            return delivery_exists(conn, endpoint_id, delivery_id)

    return WebhooksService(
        store,
        allow_http=settings.webhooks_allow_http,
        allow_private=settings.webhooks_allow_private,
        delivery_exists=exists,
    )


def open_webhook_sender(settings: Settings, database_url: str) -> WebhookSender:
    """The webhook delivery job's sender, on its own event store (to disable endpoints) and
    HTTP client; ``sender.close()`` closes both."""
    store = open_event_store(database_url, pool_size=1)
    pool = ConnectionPool(
        database_url,
        min_size=1,
        max_size=4,
        kwargs={"autocommit": True},
        check=ConnectionPool.check_connection,
        open=True,
    )
    deliveries = PgDeliveryLog(pool.connection)
    service = WebhooksService(
        store,
        allow_http=settings.webhooks_allow_http,
        allow_private=settings.webhooks_allow_private,
        delivery_exists=deliveries.delivery_exists,
    )
    transport = HttpxTransport(timeout=settings.webhooks_timeout_seconds)

    def disable(endpoint_id: UUID, reason: str, failing_since: object) -> None:
        service.disable(endpoint_id=endpoint_id, reason=reason, failing_since=str(failing_since))

    def close() -> None:
        transport.close()
        pool.close()
        store.close()

    return WebhookSender(
        deliveries,
        transport,
        DeliveryRules(
            allow_http=settings.webhooks_allow_http,
            allow_private=settings.webhooks_allow_private,
            retry_seconds=settings.webhooks_retry_seconds,
            disable_after_seconds=settings.webhooks_disable_after_seconds,
            backoff_seconds=settings.webhooks_backoff_seconds,
        ),
        disable,
        resolve=resolve_host,
        close=close,
    )


def open_identity(settings: Settings, database_url: str, pool_size: int = 1) -> IdentityService:
    """The identity service of a CLI command, on its own event store (the caller closes
    ``service.store``)."""
    return make_identity(open_event_store(database_url, pool_size=pool_size), settings)


def make_exports(
    store: EventStore, settings: Settings, database_url: str, storage: Storage | None = None
) -> ExportsService:
    """Workspace exports: a dramatiq job with Redis, a thread of this process without."""
    service = ExportsService(
        ExportRecords(database_url),
        storage or open_storage(settings),
        NotificationsService(store, link_tokens(settings)),
        ttl_days=settings.exports_ttl_days,
    )
    if settings.redis_url:
        service.scheduler = DramatiqExports()
    else:
        service.scheduler = ThreadExports(lambda export_id: service.run(export_id=export_id))
    return service


def open_exports(settings: Settings, database_url: str, pool_size: int = 2) -> ExportsService:
    """The exports service of a job worker, on its own event store."""
    return make_exports(open_event_store(database_url, pool_size=pool_size), settings, database_url)


def make_imports(store: EventStore, settings: Settings, database_url: str) -> ImportsService:
    """Imports: over HTTP a dramatiq job with Redis, a thread of this process without."""
    service = ImportsService(
        store, ImportRecords(database_url), max_bytes=settings.imports_max_bytes
    )
    if settings.redis_url:
        service.scheduler = DramatiqImports()
    else:
        service.scheduler = ThreadImports(lambda import_id: service.run(import_id=import_id))
    return service


def open_imports(settings: Settings, database_url: str, pool_size: int = 2) -> ImportsService:
    """The imports service of a job worker or a CLI command, on its own event store (the
    caller closes ``service.store``)."""
    return make_imports(open_event_store(database_url, pool_size=pool_size), settings, database_url)


@dataclass
class Container:
    settings: Settings
    database_url: str
    store: EventStore
    identity: IdentityService
    workspaces: WorkspaceService
    projects: ProjectsService
    kanban: KanbanService
    tasks: TasksService
    comments: CommentsService
    audit: AuditService
    time_tracking: TimeTrackingService
    files: FilesService
    resources: ResourcesService
    milestones: MilestonesService
    notifications: NotificationsService
    templates: TemplatesService
    exports: ExportsService
    webhooks: WebhooksService
    imports: ImportsService
    pool: AsyncConnectionPool
    waiter: ProjectionWaiter
    boards: BoardDocuments
    sign_ins: identity_queries.SignIns
    projections: list[Projection] = field(default_factory=all_projections)
    projector: Projector | None = None
    # DATABASE_READ_URL: the API's queries on a streaming replica (``pool`` stays on the
    # primary: idempotency keys, real-time catch-up, /ready), commands wait for it too.
    replica_pool: AsyncConnectionPool | None = None
    replica: ReplicaWaiter | None = None

    @property
    def read_pool(self) -> AsyncConnectionPool:
        """Where the API's queries go: the replica when configured, else the primary."""
        return self.replica_pool or self.pool

    def affected(self, topics: frozenset[str]) -> list[str]:
        return affected_by(topics, self.projections)


async def open_container(
    settings: Settings, database_url: str, *, with_projector: bool
) -> Container:
    store = open_event_store(database_url, pool_size=settings.db_pool_size)
    configure_broker(settings)
    identity = make_identity(store, settings)
    pool = await open_read_pool(database_url, settings.db_pool_size)
    waiter = ProjectionWaiter(database_url)
    projector = None
    if with_projector:
        projector = make_projector(database_url, settings, store)
        projector.start()
    await waiter.start()
    identity.sessions.on_logins_ended = waiter.sign_ins_changed_here  # before it answers
    replica_pool = replica = None
    if settings.database_read_url:
        replica_pool = await open_read_pool(settings.database_read_url, settings.db_pool_size)
        replica = ReplicaWaiter(replica_pool)
    return Container(
        settings=settings,
        database_url=database_url,
        store=store,
        identity=identity,
        workspaces=WorkspaceService(store, link_tokens(settings), settings.app_url),
        projects=ProjectsService(store),
        kanban=KanbanService(store),
        tasks=TasksService(store),
        comments=CommentsService(store),
        audit=AuditService(store),
        time_tracking=make_time_tracking(store, settings),
        files=make_files(store, settings),
        resources=ResourcesService(store),
        milestones=MilestonesService(store),
        notifications=NotificationsService(store, link_tokens(settings)),
        templates=TemplatesService(store),
        exports=make_exports(store, settings, database_url),
        webhooks=make_webhooks(store, settings),
        imports=make_imports(store, settings, database_url),
        pool=pool,
        waiter=waiter,
        # On a replica a document is tagged with the position the replica shows (read
        # before it), not the primary's: the replica may not have applied that one yet.
        boards=BoardDocuments(None if replica else waiter.positions),
        sign_ins=identity_queries.SignIns(None if replica else waiter),
        projector=projector,
        replica_pool=replica_pool,
        replica=replica,
    )


async def close_container(container: Container) -> None:
    await container.waiter.stop()
    if container.projector:
        container.projector.stop()
    await container.pool.close()
    if container.replica_pool is not None:
        await container.replica_pool.close()
    container.store.close()


def database_reachable(database_url: str) -> bool:
    try:
        with psycopg.connect(database_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False
