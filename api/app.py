"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from api.errors import install_error_handlers
from api.routes import cells, health, incidents
from gridwatch.grid.model import Grid
from gridwatch.settings import Settings


def create_app(settings: Settings, *, grid: Grid | None = None) -> FastAPI:
    """Build the API; the pool opens and the grid loads when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.grid = grid if grid is not None else Grid.load(settings.grid.path)
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
    install_error_handlers(app)
    for module in (health, cells, incidents):
        app.include_router(module.router)
    return app
