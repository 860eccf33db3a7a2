"""The loop's HTTP edge: a path word for every command, and the SLA countdown."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from alerts.commands import Action
from api.loop_schemas import clock_read
from api.routes.cases import PATH_ACTIONS, PathAction
from tests.support import T0


def test_every_command_has_one_path_word() -> None:
    assert tuple(PATH_ACTIONS) == get_args(PathAction)
    assert sorted(PATH_ACTIONS.values()) == sorted(get_args(Action))


def test_the_countdown_is_negative_once_overdue() -> None:
    due = T0 + timedelta(minutes=5)
    running = clock_read("accept", "grid", due, T0)
    assert running is not None and running.seconds_left == 300
    overdue = clock_read("accept", "village", due, due + timedelta(seconds=90))
    assert overdue is not None and overdue.seconds_left == -90


def test_no_clock_once_resolved() -> None:
    assert clock_read(None, None, None, T0) is None
