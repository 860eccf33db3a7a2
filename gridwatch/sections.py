"""The base of every settings section: frozen, and refusing keys it does not know."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A nested section of the settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)
