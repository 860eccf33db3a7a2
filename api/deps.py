"""Request dependencies: the connection pool and the grid, taken from the app's state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from gridwatch.grid.model import Grid
from gridwatch.settings import Settings


def get_grid(request: Request) -> Grid:
    """The grid loaded at start."""
    grid: Grid = request.app.state.grid
    return grid


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> AsyncConnectionPool:
    """The PostgreSQL pool opened at start."""
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


async def get_conn(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection for the length of one request."""
    async with get_pool(request).connection() as conn:
        yield conn


GridDep = Annotated[Grid, Depends(get_grid)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
ConnDep = Annotated[psycopg.AsyncConnection, Depends(get_conn)]
