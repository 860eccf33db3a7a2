"""Request dependencies: pool, grid, event log, photo store and caller, from the app's state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from api.errors import ApiError
from gridwatch.grid.model import Grid
from gridwatch.ports import PhotoStore, RecordSink
from gridwatch.records import ReporterRole
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


def get_sink(request: Request) -> RecordSink:
    """The event log records are sent to; 503 when the app was built without one."""
    sink: RecordSink | None = request.app.state.sink
    if sink is None:
        raise ApiError(503, "no_event_log", "this API runs without an event log")
    return sink


def get_photos(request: Request) -> PhotoStore:
    """Where report photos are kept; 503 when the app was built without a store."""
    photos: PhotoStore | None = request.app.state.photos
    if photos is None:
        raise ApiError(503, "no_photo_store", "this API runs without a photo store")
    return photos


@dataclass(frozen=True)
class Reporter:
    """Who is filing: an account id and the role it has."""

    account: str
    role: ReporterRole


def get_reporter() -> Reporter:
    """The caller; everyone is an anonymous citizen until accounts and login arrive (issue 4)."""
    return Reporter(account="anonymous", role="citizen")


GridDep = Annotated[Grid, Depends(get_grid)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
ConnDep = Annotated[psycopg.AsyncConnection, Depends(get_conn)]
SinkDep = Annotated[RecordSink, Depends(get_sink)]
PhotosDep = Annotated[PhotoStore, Depends(get_photos)]
ReporterDep = Annotated[Reporter, Depends(get_reporter)]
