"""Liveness and readiness per dependency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import GridDep, PoolDep
from api.schemas import DependencyCheck, Readiness
from gridwatch.settings import Settings

router = APIRouter(tags=["health"])
_TIMEOUT_S = 2.0
# A check of an optional dependency (the log, the broker), reported by /readyz.
Probe = Callable[[], Awaitable[DependencyCheck]]


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


async def _reachable(host: str, port: int) -> DependencyCheck:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), _TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        return DependencyCheck(ok=False, required=False, detail=f"{host}:{port}: {exc!r}")
    writer.close()
    return DependencyCheck(ok=True, required=False, detail=f"{host}:{port} accepts connections")


def server_probes(settings: Settings) -> Mapping[str, Probe]:
    """The distributed mode's optional dependencies, Kafka and the MQTT broker, by connecting."""
    return {
        "kafka": partial(_reachable, settings.kafka.host, settings.kafka.port),
        "mqtt": partial(_reachable, settings.mqtt.host, settings.mqtt.port),
    }


async def _postgres(pool: PoolDep) -> DependencyCheck:
    try:
        async with asyncio.timeout(_TIMEOUT_S), pool.connection() as conn:
            cur = await conn.execute("SELECT max(version) FROM schema_migrations")
            row = await cur.fetchone()
    except Exception as exc:
        return DependencyCheck(ok=False, required=True, detail=f"{type(exc).__name__}: {exc}")
    return DependencyCheck(ok=True, required=True, detail=f"schema version {row[0] if row else 0}")


@router.get("/readyz", response_model=Readiness, summary="Can the API serve, per dependency")
async def readyz(request: Request, pool: PoolDep, grid: GridDep) -> JSONResponse:
    """503 unless every required dependency is ready; optional ones are reported only."""
    probes: Mapping[str, Probe] = request.app.state.probes
    postgres, *optional = await asyncio.gather(_postgres(pool), *(p() for p in probes.values()))
    checks = {
        "postgres": postgres,
        "grid": DependencyCheck(ok=len(grid) > 0, required=True, detail=f"{len(grid)} cells"),
        **dict(zip(probes, optional, strict=True)),
    }
    ready = all(c.ok for c in checks.values() if c.required)
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
