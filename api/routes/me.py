"""The signed-in person's own view: the incidents waiting for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConnDep, CurrentUser
from api.loop_schemas import QueueItem, QueuePage, clock_read
from api.routes.incidents import with_location
from gridwatch.store.cases import list_queue

router = APIRouter(prefix="/v1/me", tags=["loop"])


def _item(row: dict[str, Any], now: datetime) -> QueueItem:
    """A queue row with its location folded in and its clock's countdown at `now`."""
    clock = clock_read(row.pop("clock"), row.pop("clock_level"), row.pop("due_at"), now)
    return QueueItem.model_validate(with_location(row) | {"clock": clock})


@router.get("/queue", response_model=QueuePage, summary="My queue")
async def read_queue(
    conn: ConnDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
) -> QueuePage:
    """Open incidents assigned to me (or, for a worker, in my cell): most severe, soonest due."""
    people = [user.id] if user.person_id is None else [user.id, user.person_id]
    cell = user.node if user.role == "worker" else None
    rows = await list_queue(conn, person_ids=people, cell_id=cell, limit=limit)
    now = datetime.now(UTC)
    items = [_item(row, now) for row in rows]
    return QueuePage(items=items, count=len(items))
