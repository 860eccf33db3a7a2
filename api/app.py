"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from psycopg_pool import AsyncConnectionPool

from api.auth import signing_key
from api.errors import install_error_handlers
from api.push import Feed, Hub
from api.routes import (
    accounts,
    air,
    auth,
    cases,
    cells,
    devices,
    health,
    incidents,
    kpis,
    me,
    notifications,
    people,
    public,
    reports,
)
from api.routes import photos as photo_routes
from api.routes.health import Probe, server_probes
from api.ui import mount_screens
from gridwatch.grid.model import Grid
from gridwatch.ports import PhotoStore, RecordSink
from gridwatch.settings import Settings


def create_app(
    settings: Settings,
    *,
    grid: Grid | None = None,
    sink: RecordSink | None = None,
    photos: PhotoStore | None = None,
    feed: Feed | None = None,
    probes: Mapping[str, Probe] | None = None,
) -> FastAPI:
    """Build the API; the pool opens, the grid loads and `feed` starts when the app starts.

    `probes` are the optional dependencies /readyz reports: Kafka and MQTT unless given.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.grid = grid if grid is not None else Grid.load(settings.grid.path)
        app.state.signing_key = signing_key(settings.auth, settings.run_dir)
        # Made per start: its lock belongs to the event loop that serves.
        app.state.public_answers = public.public_answers()
        # open=False then open(wait=False): the API starts even while PostgreSQL is still
        # coming up, and /readyz says so instead of the process dying.
        pool = AsyncConnectionPool(
            settings.postgres.conninfo(), min_size=1, max_size=10, open=False
        )
        await pool.open(wait=False)
        app.state.pool = pool
        # The feed fills this replica's sockets (api.push.kafka_feed); tests feed the hub.
        feeding: asyncio.Task[None] | None = (
            None if feed is None else asyncio.create_task(feed(app.state.hub, pool))
        )
        try:
            yield
        finally:
            if feeding is not None:
                feeding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeding
            await pool.close()

    app = FastAPI(
        title="gridwatch",
        version="1",
        summary="Grid-cell incident queues of the county's cameras and sensors.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The event log reports go to and the photo store belong to the caller, who closes them;
    # without them, filing reports and reading photos answer 503.
    app.state.sink = sink
    app.state.photos = photos
    app.state.hub = Hub()
    app.state.probes = server_probes(settings) if probes is None else probes
    install_error_handlers(app)
    # Phones on a weak village signal: the grid map alone is ~600 kB of JSON, ~10x less zipped.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    for module in (
        health,
        accounts,
        auth,
        cells,
        incidents,
        cases,
        me,
        notifications,
        people,
        reports,
        devices,
        photo_routes,
        kpis,
        air,
        public,
    ):
        app.include_router(module.router)
    mount_screens(app)
    return app
