"""The public transparency page (事事都公开): how each village's incidents were handled, no auth."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from api.answer_cache import AnswerCache
from api.deps import GridDep, PoolDep
from api.kpi_schemas import PublicVillage, PublicVillagePage
from api.routes.kpis import FromQuery, ToQuery, refusals, seconds
from gridwatch.grid.model import Village
from gridwatch.incidents import IncidentKind
from gridwatch.kpis import grouping, share, window
from gridwatch.store.kpis import node_kpis

router = APIRouter(prefix="/v1/public", tags=["public"])

# The figures move slowly; a public page hit by many readers is served from caches meanwhile.
CACHE_CONTROL = "public, max-age=300"
# Behind no proxy, each replica still answers the same window from memory for a minute.
ANSWER_TTL_S = 60.0
ANSWERS_KEPT = 32

Window = tuple[datetime | None, datetime | None]


def public_answers() -> AnswerCache[Window, PublicVillagePage]:
    """The cache a replica keeps public pages in, keyed by the window as asked."""
    return AnswerCache(ttl_s=ANSWER_TTL_S, size=ANSWERS_KEPT)


# Hazards and disputes: what residents live with. Maintenance (a silent camera) is left out,
# as counts of it per village would show where the cameras are dark.
PUBLIC_KINDS: tuple[IncidentKind, ...] = ("hazard", "dispute")


def public_village(village: Village, township_name: str, row: dict[str, Any]) -> PublicVillage:
    """A village's row of figures, cut down to what the public page shows."""
    return PublicVillage(
        village_id=village.id,
        village_name=village.name,
        township_id=village.township_id,
        township_name=township_name,
        handled=row["closed"],
        resolved=row["resolved"],
        resolve_p50_s=seconds(row["resolve_p50_s"]),
        resolved_on_time_share=share(row["resolved_on_time"], row["resolved_with_clock"]),
    )


@router.get("/villages", response_model=PublicVillagePage, summary="Villages' handling, public")
async def read_villages(
    request: Request,
    response: Response,
    pool: PoolDep,
    grid: GridDep,
    start: FromQuery = None,
    end: ToQuery = None,
) -> PublicVillagePage:
    """Per village: incidents handled, median time to resolve, share resolved in time."""
    now = datetime.now(UTC)
    with refusals():
        since, until = window(start, end, now=now)

    async def compute() -> PublicVillagePage:
        # Counted as the county sees them: every cell, grouped by village.
        scope = grouping(grid, role="operator", node=grid.county, level="village", township=None)
        # A connection only while computing, so callers queued on the cache hold none.
        async with pool.connection() as conn:
            rows = await node_kpis(
                conn,
                cell_node=scope.cell_node,
                kinds=PUBLIC_KINDS,
                start=since,
                end=until,
                now=now,
            )
        by_node = {row["node_id"]: row for row in rows}
        towns = {t.id: t.name for t in grid.townships()}
        villages = [public_village(v, towns[v.township_id], by_node[v.id]) for v in grid.villages()]
        return PublicVillagePage(from_=since, to=until, villages=villages)

    answers: AnswerCache[Window, PublicVillagePage] = request.app.state.public_answers
    page = await answers.get((start, end), compute)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return page
