"""The database: one SQLAlchemy async engine per process, and the request's connection.

SQLAlchemy owns the pool, the schema (``app.models``) and the migrations. Statements run on the
pooled asyncpg connection itself: on this stack a Core statement costs about 0.4 ms of Python
per execution more than the driver does (docs/decisions/0001), which hot paths cannot afford.
Repositories write SQL, or build it with SQLAlchemy Core (``Db`` compiles Core statements).

A request whose effect is one statement outside a transaction gets a ``LazyDb``: it takes a
pooled connection only for the statements that need one, and sends its ``fetchrow_keyed``
statements through the process's batcher (``app.core.batch``) with other requests' ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
import orjson
import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from app.config import Settings
from app.core import tracing
from app.core.batch import Batcher

_DIALECT = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's own, unannotated

# Errors that mean the connection, not the statement, failed: such a connection is discarded.
# The server refusing a new connection (no such database; an unknown role or a wrong password)
# is one too: answered 503 like an unreachable server, never 500.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    ConnectionError,
    OSError,
)


def _renamed(parsed: URL, old: str, new: str) -> URL:
    """``parsed`` with its query parameter ``old`` called ``new`` (unless both are given)."""
    if old not in parsed.query or new in parsed.query:
        return parsed
    return parsed.difference_update_query([old]).update_query_dict({new: parsed.query[old]})


def async_url(url: str) -> str:
    """Accept ``postgresql://`` (libpq style) or ``postgresql+asyncpg://`` URLs. TLS may be
    asked for either way: libpq's ``sslmode`` becomes the ``ssl`` that SQLAlchemy passes to
    ``asyncpg.connect`` (which takes the same modes), rather than a keyword it refuses."""
    parsed = _renamed(make_url(url), "sslmode", "ssl")
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL for ``asyncpg.connect`` itself, whose DSN reads ``sslmode``: an ``ssl`` written
    for SQLAlchemy's sake would reach the server as a setting it cannot change."""
    parsed = _renamed(make_url(url), "ssl", "sslmode").set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def compile_statement(statement: ClauseElement) -> tuple[str, list[Any]]:
    compiled = cast(
        SQLCompiler,
        statement.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True}),
    )
    params = compiled.params
    return str(compiled), [params[name] for name in (compiled.positiontup or ())]


def _query(query: str | ClauseElement, args: Sequence[Any]) -> tuple[str, Sequence[Any]]:
    if isinstance(query, str):
        return query, args
    if args:
        raise TypeError("a Core statement carries its own parameters")
    return compile_statement(query)


class Db:
    """The request's (or job's) connection. ``transaction()`` nests as a savepoint."""

    __slots__ = ("conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def fetch(self, query: str | ClauseElement, *args: Any) -> list[asyncpg.Record]:
        sql, params = _query(query, args)
        rows: list[asyncpg.Record] = await self.conn.fetch(sql, *params)
        return rows

    async def fetchrow(self, query: str | ClauseElement, *args: Any) -> asyncpg.Record | None:
        sql, params = _query(query, args)
        return await self.conn.fetchrow(sql, *params)

    async def fetchval(self, query: str | ClauseElement, *args: Any) -> Any:
        sql, params = _query(query, args)
        return await self.conn.fetchval(sql, *params)

    async def execute(self, query: str | ClauseElement, *args: Any) -> str:
        sql, params = _query(query, args)
        status: str = await self.conn.execute(sql, *params)
        return status

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, args)

    def transaction(self, isolation: str | None = None) -> Any:
        return self.conn.transaction(isolation=isolation)

    def in_transaction(self) -> bool:
        return bool(self.conn.is_in_transaction())

    async def fetchrow_keyed(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """A single-row statement whose row, if any, carries its first parameter in column
        ``id``: outside a transaction it may be sent with others (``app.core.batch``)."""
        return await self.fetchrow(sql, *args)


def _refuse_closed(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """Pool checkout: a connection the server closed while it sat in the pool (a restart, a
    failover, ``pg_terminate_backend``) is replaced by a fresh one before anyone uses it. The
    driver notices the closed socket on its own, so this costs no round trip (unlike
    ``pool_pre_ping``)."""
    if dbapi_connection.driver_connection.is_closed():
        raise sqlalchemy.exc.DisconnectionError("the server closed this pooled connection")


def build_engine(url: str, settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    server_settings = {
        "application_name": "ipledge",
        # What the database writes of a timestamp itself (the audit entries and events a
        # statement builds) carries the offset every answer shows: +08:00. Business dates are
        # never taken from the session's zone: the SQL that needs one names Asia/Shanghai.
        "timezone": "Asia/Shanghai",
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "lock_timeout": str(settings.db_lock_timeout_ms),
        "idle_in_transaction_session_timeout": "60000",
        "plan_cache_mode": settings.db_plan_cache_mode,
    }
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_s,
        # Connections come back clean (every transaction is closed by ``Database.connection``),
        # so the pool's ROLLBACK on return would be a wasted round trip per request.
        pool_reset_on_return=None,
        # The connection returned last is the next one out: a burst of 16 requests keeps ~16
        # connections warm (their prepared statements planned, their backends' caches loaded)
        # instead of cycling through all of them. Measured here: with FIFO, submission's p99 at 16
        # connections over a server's first 6 s was 160 ms; with LIFO, 45 ms.
        pool_use_lifo=True,
        json_deserializer=orjson.loads,
        connect_args={
            "server_settings": server_settings,
            "statement_cache_size": 512,
            "timeout": settings.db_connect_timeout_s,
            # The client's own bound on every statement, for a database that stopped answering
            # altogether (frozen, or the network gone without a reset): statement_timeout is
            # the server's, and a frozen server enforces nothing.
            "command_timeout": settings.db_command_timeout_s,
        },
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    if tracing.active():
        event.listen(engine.sync_engine, "connect", tracing.watch_connection)
    return engine


class Database:
    def __init__(
        self, engine: AsyncEngine, *, batch_inflight: int = 0, batch_max: int = 32
    ) -> None:
        self.engine = engine
        self._bound: Db | None = None
        self._bound_lock: Any = None
        self.batcher: Batcher | None = None
        if batch_inflight > 0:
            self.batcher = Batcher(
                self._checkout,
                max_inflight=batch_inflight,
                max_batch=batch_max,
                connection_errors=CONNECTION_ERRORS,
            )

    @classmethod
    def for_settings(cls, engine: AsyncEngine, settings: Settings) -> Database:
        return cls(
            engine, batch_inflight=settings.db_batch_inflight, batch_max=settings.db_batch_max
        )

    def bind(self, conn: asyncpg.Connection) -> None:
        """Tests: route every request through one connection (inside a transaction the test
        rolls back); requests take turns on it."""
        import asyncio

        self._bound = Db(conn)
        self._bound_lock = asyncio.Lock()

    def unbind(self) -> None:
        self._bound = None
        self._bound_lock = None

    async def _checkout(self) -> tuple[asyncpg.Connection, Callable[[bool], Awaitable[None]]]:
        """A pooled connection and the function that gives it back (``True``: discard it)."""
        # The pool's own checkout: one greenlet hop (~20 us here) instead of the three of
        # ``engine.connect()`` (~80 us). Connections come back clean, so returning one needs
        # no I/O; a broken or half-done one is invalidated instead.
        try:
            fairy = await self.engine.raw_connection()
        except self.engine.dialect.loaded_dbapi.Error as exc:
            # SQLAlchemy's asyncpg adapter wraps a server error raised while connecting (the
            # server starting up or shutting down: CannotConnectNowError; too many
            # connections) in its own DBAPI class, which no error handler knows: the caller
            # got a 500. Raise the driver's own error, which the handlers answer with a 503.
            if isinstance(exc.__cause__, asyncpg.PostgresError | asyncpg.InterfaceError):
                raise exc.__cause__ from None
            raise

        async def release(discard: bool) -> None:
            if discard:
                await greenlet_spawn(fairy.invalidate)
            else:
                fairy.close()

        return fairy.driver_connection, release

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Db]:
        if self._bound is not None:
            # Each request in a savepoint: a statement that fails leaves the test's transaction
            # usable, as it would leave a real connection in autocommit.
            async with self._bound_lock, self._bound.conn.transaction():
                yield self._bound
            return
        conn, release = await self._checkout()
        discard = False
        try:
            yield Db(conn)
        except CONNECTION_ERRORS:
            discard = True
            raise
        finally:
            await release(discard or conn.is_closed() or conn.is_in_transaction())

    @asynccontextmanager
    async def lazy_connection(self) -> AsyncIterator[Db]:
        """For a request outside a transaction: its single statement may go through the
        batcher; a connection is taken only when another statement needs one."""
        if self._bound is not None or self.batcher is None:
            async with self.connection() as db:
                yield db
            return
        db = LazyDb(self)
        try:
            yield db
        finally:
            # A statement or transaction gives its connection back when it ends; this is the
            # guard for a request that leaves in the middle of one.
            await db.release()

    async def dispose(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
        await self.engine.dispose()


class LazyDb(Db):
    """A ``Db`` that holds a connection only while one of its statements runs, or while a
    transaction it opened is open (see ``lazy_connection``). So it never holds one while its
    statement waits in the batcher's queue: requests holding every pooled connection while
    the batcher waited for one would wait for ever."""

    __slots__ = ("_database", "_pins", "_release", "discard")

    def __init__(self, database: Database) -> None:
        super().__init__(None)
        self._database = database
        self._release: Callable[[bool], Awaitable[None]] | None = None
        self._pins = 0
        self.discard = False

    async def _ensure(self) -> asyncpg.Connection:
        if self.conn is None:
            self.conn, self._release = await self._database._checkout()
        return self.conn

    async def _statement(self, run: Callable[[Db], Awaitable[Any]]) -> Any:
        await self._ensure()
        try:
            return await run(self)
        except CONNECTION_ERRORS:
            self.discard = True
            raise
        finally:
            if not self._pins:
                await self.release()

    async def fetch(self, query: str | ClauseElement, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._statement(lambda db: Db.fetch(db, query, *args))
        return rows

    async def fetchrow(self, query: str | ClauseElement, *args: Any) -> asyncpg.Record | None:
        return await self._statement(lambda db: Db.fetchrow(db, query, *args))

    async def fetchval(self, query: str | ClauseElement, *args: Any) -> Any:
        return await self._statement(lambda db: Db.fetchval(db, query, *args))

    async def execute(self, query: str | ClauseElement, *args: Any) -> str:
        status: str = await self._statement(lambda db: Db.execute(db, query, *args))
        return status

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._statement(lambda db: Db.executemany(db, sql, args))

    async def fetchrow_keyed(self, sql: str, *args: Any) -> asyncpg.Record | None:
        batcher = self._database.batcher
        if batcher is not None and not self._pins:
            return await batcher.fetchrow(sql, args, key=args[0])
        return await self.fetchrow(sql, *args)

    def transaction(self, isolation: str | None = None) -> Any:
        return _LazyTransaction(self, isolation)

    def in_transaction(self) -> bool:
        return self.conn is not None and self.conn.is_in_transaction()

    async def release(self) -> None:
        conn, release = self.conn, self._release
        if conn is None or release is None:
            return
        self.conn = self._release = None
        discard, self.discard = self.discard, False
        await release(discard or conn.is_closed() or conn.is_in_transaction())


class _LazyTransaction:
    """``LazyDb.transaction()``: the connection is held from BEGIN to COMMIT or ROLLBACK."""

    __slots__ = ("_db", "_isolation", "_transaction")

    def __init__(self, db: LazyDb, isolation: str | None) -> None:
        self._db = db
        self._isolation = isolation
        self._transaction: Any = None

    async def __aenter__(self) -> Any:
        db = self._db
        conn = await db._ensure()
        db._pins += 1
        try:
            self._transaction = conn.transaction(isolation=self._isolation)
            return await self._transaction.__aenter__()
        except BaseException:
            await self._unpin(failed=True)
            raise

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self._transaction.__aexit__(*exc_info)
        except CONNECTION_ERRORS:
            self._db.discard = True
            raise
        finally:
            await self._unpin(failed=isinstance(exc_info[1], CONNECTION_ERRORS))

    async def _unpin(self, *, failed: bool) -> None:
        db = self._db
        db._pins -= 1
        if failed:
            db.discard = True
        if not db._pins:
            await db.release()
