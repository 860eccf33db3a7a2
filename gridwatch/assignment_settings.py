"""Settings of the assignment policy: which fixes count, how far neighbours reach, load caps."""

from __future__ import annotations

from pydantic import Field

from gridwatch.sections import Section


class AssignmentSettings(Section):
    """Who an incident goes to: parameters of the cell → neighbours → village → ... cascade."""

    fix_max_age_s: int = Field(
        900,
        gt=0,
        title="Fix freshness",
        description="Seconds after which a phone's last location no longer ranks its owner "
        "by distance.",
    )
    fix_max_accuracy_m: float = Field(
        500.0,
        gt=0,
        title="Fix accuracy",
        description="Metres of reported accuracy beyond which a fix is ignored (a cell-tower "
        "fix in a weak-signal village can be kilometres off).",
    )
    neighbour_distance_m: float = Field(
        2000.0,
        ge=0,
        title="Neighbour reach",
        description="Metres from the incident within which other cells' centroids make their "
        "workers the next choice after the incident's own cell.",
    )
    max_load: int = Field(
        5,
        ge=1,
        title="Most open assignments",
        description="Workers with this many open assignments or more are passed over while "
        "anyone else on duty can take the incident.",
    )
