"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from api.auth import signing_key
from api.errors import install_error_handlers
from api.routes import auth, cases, cells, devices, health, incidents, me, people, reports
from api.routes import photos as photo_routes
from gridwatch.grid.model import Grid
from gridwatch.ports import PhotoStore, RecordSink
from gridwatch.settings import Settings


def create_app(
    settings: Settings,
    *,
    grid: Grid | None = None,
    sink: RecordSink | None = None,
    photos: PhotoStore | None = None,
) -> FastAPI:
    """Build the API; the pool opens and the grid loads when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.grid = grid if grid is not None else Grid.load(settings.grid.path)
        app.state.signing_key = signing_key(settings.auth, settings.run_dir)
        # open=False then open(wait=False): the API starts even while PostgreSQL is still
        # coming up, and /readyz says so instead of the process dying.
        pool = AsyncConnectionPool(
            settings.postgres.conninfo(), min_size=1, max_size=10, open=False
        )
        await pool.open(wait=False)
        app.state.pool = pool
        try:
            yield
        finally:
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
    install_error_handlers(app)
    for module in (
        health,
        auth,
        cells,
        incidents,
        cases,
        me,
        people,
        reports,
        devices,
        photo_routes,
    ):
        app.include_router(module.router)
    return app
