"""Accounts a desk may name when it reassigns or escalates: who, what role, where."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api.access import account_nodes
from api.deps import ConnDep, DeskUser, GridDep
from gridwatch.people import Role
from gridwatch.store.users import accounts_under

router = APIRouter(prefix="/v1/accounts", tags=["people"])


class AccountRead(BaseModel):
    """An account as a desk sees it: no credentials."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    display_name: str
    role: Role
    node: str
    person_id: str | None


class AccountPage(BaseModel):
    """Accounts by role, then name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[AccountRead]
    count: int


@router.get("", response_model=AccountPage, summary="Accounts a desk may name in a step")
async def list_accounts(
    conn: ConnDep,
    grid: GridDep,
    desk: DeskUser,
    limit: Annotated[int, Query(ge=1, le=5000, description="At most this many.")] = 2000,
) -> AccountPage:
    """Active accounts of the desk's area and the levels above it (all, for operators)."""
    users = await accounts_under(conn, account_nodes(desk, grid), limit=limit)
    items = [
        AccountRead.model_validate(u.model_dump(include=set(AccountRead.model_fields)))
        for u in users
    ]
    return AccountPage(items=items, count=len(items))
