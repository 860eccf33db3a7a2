"""The closed loop: every legal move, the illegal ones refused by name, roles, the timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import pytest
from pydantic import ValidationError

from alerts.commands import (
    Accept,
    Action,
    Actor,
    Arrive,
    Cancel,
    Close,
    Dispatch,
    Escalate,
    HandBack,
    Reassign,
    RequestHelp,
    Resolve,
    Role,
    Verify,
)
from alerts.lifecycle import PERMISSIONS, IllegalTransition, transition
from gridwatch.incidents import IncidentStatus
from gridwatch.people import Level
from tests.loop import (
    ADMIN,
    FIX,
    OPERATOR,
    PHOTO,
    SUPERVISOR,
    SUPERVISOR_2,
    TIMER,
    WORKER,
    WORKER_2,
    case,
    command,
    walk,
)
from tests.support import T0, later

STATUSES: tuple[IncidentStatus, ...] = get_args(IncidentStatus)
ACTIONS: tuple[Action, ...] = get_args(Action)
# Written out here, not read from the code: (from, command) → to, and nothing else is legal.
LEGAL: dict[tuple[IncidentStatus, Action], IncidentStatus] = {
    ("new", "dispatch"): "dispatched",
    ("returned", "dispatch"): "dispatched",
    ("dispatched", "accept"): "accepted",
    ("escalated", "accept"): "accepted",
    ("accepted", "arrive"): "on_site",
    ("on_site", "resolve"): "resolved",
    ("dispatched", "hand_back"): "returned",
    ("accepted", "hand_back"): "returned",
    ("on_site", "hand_back"): "returned",
    ("escalated", "hand_back"): "returned",
    ("accepted", "request_help"): "accepted",
    ("on_site", "request_help"): "on_site",
    ("dispatched", "reassign"): "dispatched",
    ("accepted", "reassign"): "dispatched",
    ("on_site", "reassign"): "dispatched",
    ("escalated", "reassign"): "dispatched",
    ("new", "escalate"): "escalated",
    ("dispatched", "escalate"): "escalated",
    ("returned", "escalate"): "escalated",
    ("escalated", "escalate"): "escalated",
    ("accepted", "escalate"): "accepted",
    ("on_site", "escalate"): "on_site",
    ("new", "cancel"): "cancelled",
    ("dispatched", "cancel"): "cancelled",
    ("accepted", "cancel"): "cancelled",
    ("on_site", "cancel"): "cancelled",
    ("resolved", "cancel"): "cancelled",
    ("escalated", "cancel"): "cancelled",
    ("returned", "cancel"): "cancelled",
    ("resolved", "verify"): "verified",
    ("verified", "close"): "closed",
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_command_is_legal_exactly_where_the_table_says(
    status: IncidentStatus, action: Action
) -> None:
    # An admin may do anything, so only the status decides here.
    before = case(status)
    if (status, action) in LEGAL:
        after, step = transition(before, command(action, ADMIN), at=later(60))
        to = LEGAL[status, action]
        assert (step.from_status, step.status, after.status) == (status, to, to)
    else:
        with pytest.raises(IllegalTransition) as refused:
            transition(before, command(action, ADMIN), at=later(60))
        expected = "terminal" if status in ("closed", "cancelled") else "wrong_status"
        assert refused.value.code == expected


@pytest.mark.parametrize(
    ("status", "action", "code", "says"),
    [
        ("new", "accept", "wrong_status", "it must be dispatched or escalated"),
        ("dispatched", "arrive", "wrong_status", "it must be accepted"),
        ("accepted", "resolve", "wrong_status", "it must be on_site"),
        ("resolved", "close", "wrong_status", "it must be verified"),
        ("verified", "cancel", "wrong_status", "it must be new, dispatched"),
        ("new", "reassign", "wrong_status", "it must be dispatched, accepted"),
        ("returned", "accept", "wrong_status", "it must be dispatched or escalated"),
        ("resolved", "escalate", "wrong_status", "it must be new, dispatched"),
        ("closed", "cancel", "terminal", "nothing follows that"),
        ("cancelled", "dispatch", "terminal", "nothing follows that"),
    ],
)
def test_illegal_moves_are_refused_with_status_action_and_who_may(
    status: IncidentStatus, action: Action, code: str, says: str
) -> None:
    actor = SUPERVISOR if PERMISSIONS["supervisor"].get(action) == "any" else WORKER
    with pytest.raises(IllegalTransition) as refused:
        transition(case(status, assignees=("w-1",)), command(action, actor), at=later(60))
    assert refused.value.code == code
    verb = action.replace("_", " ")
    assert refused.value.message.startswith(
        f"cannot {verb} incident c1-fire-0001 while it is {status}: "
    )
    assert says in refused.value.message
    assert f"{verb} may be done by a " in refused.value.message


# Written out here: `*` on any incident, `A` only when assigned to it, `-` never.
MATRIX = """
              worker mediator supervisor operator admin system
dispatch      -      -        *          *        *     *
accept        A      A        A          A        *     -
arrive        A      A        A          A        *     -
resolve       A      A        A          A        *     -
hand_back     A      A        A          A        *     -
request_help  A      A        A          A        *     -
reassign      -      -        *          *        *     -
escalate      -      -        *          *        *     *
cancel        -      -        *          *        *     -
verify        -      -        *          *        *     -
close         -      -        *          *        *     -
"""
ROLES: tuple[Role, ...] = ("worker", "mediator", "supervisor", "operator", "admin", "system")
_HEAD, *_ROWS = MATRIX.strip().splitlines()
EXPECTED: dict[tuple[Role, Action], str] = {
    (role, action): mark
    for action, row in zip(ACTIONS, _ROWS, strict=True)
    for role, mark in zip(ROLES, row.split()[1:], strict=True)
}
# A status each command is legal in.
LEGAL_IN: dict[Action, IncidentStatus] = {action: status for (status, action) in LEGAL}


def test_the_matrix_is_laid_out_as_its_labels_say() -> None:
    assert tuple(_HEAD.split()) == ROLES
    assert tuple(row.split()[0] for row in _ROWS) == ACTIONS


def test_the_permission_table_is_the_matrix() -> None:
    marks = {"any": "*", "assigned": "A"}
    table = {
        (role, action): marks[PERMISSIONS[role][action]] if action in PERMISSIONS[role] else "-"
        for role in ROLES
        for action in ACTIONS
    }
    assert set(PERMISSIONS) == set(ROLES)
    assert table == EXPECTED


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED))
@pytest.mark.parametrize("assigned", [True, False])
def test_each_role_may_issue_what_the_matrix_says(
    role: Role, action: Action, assigned: bool
) -> None:
    actor = Actor(id="p-1", role=role)
    status = LEGAL_IN[action]
    before = case(status, assignees=("p-1",) if assigned else ("w-9",))
    mark = EXPECTED[role, action]
    if mark == "*" or (mark == "A" and assigned):
        after, _ = transition(before, command(action, actor), at=later(60))
        assert after.status == LEGAL[status, action]
    else:
        with pytest.raises(IllegalTransition) as refused:
            transition(before, command(action, actor), at=later(60))
        assert refused.value.code == ("forbidden_role" if mark == "-" else "not_assigned")


def test_the_whole_loop_keeps_every_step_in_the_timeline() -> None:
    start = case()
    done = walk(
        start,
        [
            Dispatch(actor=SUPERVISOR, assignees=("w-1",), note="nearest on duty"),
            Accept(actor=WORKER),
            Arrive(actor=WORKER, gps=FIX),
            RequestHelp(actor=WORKER, note="need a second extinguisher"),
            Resolve(actor=WORKER, note="put out", photo=PHOTO, gps=FIX),
            Verify(actor=SUPERVISOR_2, note="checked on the camera"),
            Close(actor=OPERATOR),
        ],
    )
    assert [(s.action, s.actor.id, s.from_status, s.status) for s in done.timeline] == [
        ("dispatch", "s-1", "new", "dispatched"),
        ("accept", "w-1", "dispatched", "accepted"),
        ("arrive", "w-1", "accepted", "on_site"),
        ("request_help", "w-1", "on_site", "on_site"),
        ("resolve", "w-1", "on_site", "resolved"),
        ("verify", "s-2", "resolved", "verified"),
        ("close", "o-1", "verified", "closed"),
    ]
    assert [s.at for s in done.timeline] == [later(60 * n) for n in range(1, 8)]
    dispatch, _, arrive, help_, resolve, verify, _ = done.timeline
    assert (dispatch.assignees, dispatch.note) == (("w-1",), "nearest on duty")
    assert arrive.gps == FIX
    assert help_.note == "need a second extinguisher"
    assert (resolve.note, resolve.photo, resolve.gps) == ("put out", PHOTO, FIX)
    assert (verify.actor.role, verify.note) == ("supervisor", "checked on the camera")
    assert (done.status, done.level, done.assignees) == ("closed", "grid", ("w-1",))
    assert start.timeline == ()  # the case given is left as it was


def test_transition_returns_the_step_it_appends() -> None:
    before = case("dispatched", assignees=("w-1",))
    after, step = transition(before, Accept(actor=WORKER), at=later(90))
    assert after.timeline == (step,)
    assert (step.at, step.actor, step.level) == (later(90), WORKER, "grid")


def test_time_must_carry_its_zone() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        transition(
            case(), Dispatch(actor=SUPERVISOR, assignees=("w-1",)), at=T0.replace(tzinfo=None)
        )


def test_the_resolver_cannot_verify_and_someone_else_can() -> None:
    resolved = walk(
        case("escalated", assignees=("s-1",), level="village"),
        [
            Accept(actor=SUPERVISOR),
            Arrive(actor=SUPERVISOR, gps=FIX),
            Resolve(actor=SUPERVISOR, note="done"),
        ],
    )
    with pytest.raises(IllegalTransition) as refused:
        transition(resolved, Verify(actor=SUPERVISOR), at=later(600))
    assert refused.value.code == "resolver_cannot_verify"
    assert "s-1 resolved it" in refused.value.message
    verified, _ = transition(resolved, Verify(actor=SUPERVISOR_2), at=later(600))
    assert verified.status == "verified"


def test_not_even_an_admin_verifies_their_own_resolution() -> None:
    resolved = walk(case("on_site", assignees=("w-1",)), [Resolve(actor=ADMIN, note="done")])
    with pytest.raises(IllegalTransition, match="a-1 resolved it"):
        transition(resolved, Verify(actor=ADMIN), at=later(600))


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_needs_a_reason(reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        Cancel(actor=OPERATOR, reason=reason, false_alarm=True)


def test_cancel_must_say_whether_it_was_a_false_alarm() -> None:
    with pytest.raises(ValidationError, match="false_alarm"):
        Cancel.model_validate({"actor": OPERATOR, "reason": "a permitted burn"})


def test_a_cancel_records_its_reason_and_the_false_alarm() -> None:
    cancel = Cancel(actor=OPERATOR, reason="  a permitted burn ", false_alarm=True)
    after, step = transition(case("dispatched", assignees=("w-1",)), cancel, at=later(60))
    assert (after.status, step.reason, step.false_alarm) == ("cancelled", "a permitted burn", True)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: HandBack(actor=WORKER, reason=" "), "reason"),
        (lambda: Escalate(actor=TIMER, level="village", reason="", assignees=("s-1",)), "reason"),
        (lambda: Escalate(actor=TIMER, level="village", reason="late", assignees=()), "assignees"),
        (lambda: RequestHelp(actor=WORKER, note=""), "note"),
        (lambda: Resolve(actor=WORKER, note=""), "note"),
        (lambda: Resolve(actor=WORKER, note="done", photo="/tmp/x.jpg"), "photo"),
        (lambda: Arrive.model_validate({"actor": WORKER}), "gps"),
        (lambda: Dispatch(actor=SUPERVISOR, assignees=()), "assignees"),
        (lambda: Arrive(actor=WORKER, gps={"lat": 95.0, "lon": 114.0}), "lat"),
    ],
)
def test_commands_refuse_missing_or_blank_details(build: Callable[[], object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        build()


def test_a_hand_back_empties_the_assignees_and_dispatching_starts_again() -> None:
    returned = walk(
        case("dispatched", assignees=("w-1",)), [HandBack(actor=WORKER, reason="off duty")]
    )
    assert (returned.status, returned.assignees) == ("returned", ())
    assert returned.timeline[-1].reason == "off duty"
    with pytest.raises(IllegalTransition) as refused:
        transition(returned, Accept(actor=WORKER), at=later(120))
    assert refused.value.code == "wrong_status"
    again = walk(returned, [Dispatch(actor=SUPERVISOR, assignees=("w-2",)), Accept(actor=WORKER_2)])
    assert (again.status, again.assignees) == ("accepted", ("w-2",))


def test_a_reassignment_takes_it_from_the_holder() -> None:
    moved = walk(
        case("accepted", assignees=("w-1",)),
        [Reassign(actor=OPERATOR, assignees=("w-2",), reason="w-1 is stuck at another fire")],
    )
    assert (moved.status, moved.assignees) == ("dispatched", ("w-2",))
    with pytest.raises(IllegalTransition) as refused:
        transition(moved, Accept(actor=WORKER), at=later(120))
    assert refused.value.code == "not_assigned"
    assert "it is assigned to w-2, not w-1" in refused.value.message


def test_an_escalated_incident_is_accepted_by_the_new_assignee_or_the_first() -> None:
    up = walk(
        case("dispatched", assignees=("w-1",)),
        [Escalate(actor=TIMER, level="village", reason="accept overdue", assignees=("s-1",))],
    )
    assert (up.status, up.level, up.assignees) == ("escalated", "village", ("w-1", "s-1"))
    assert up.timeline[-1].assignees == ("s-1",)
    for taker in (SUPERVISOR, WORKER):
        taken, step = transition(up, Accept(actor=taker), at=later(120))
        assert (taken.status, step.level) == ("accepted", "village")


def test_escalating_a_held_incident_raises_its_level_but_leaves_it_with_the_holder() -> None:
    up = walk(
        case("on_site", assignees=("w-1",)),
        [
            Escalate(
                actor=SUPERVISOR, level="township", reason="resolve overdue", assignees=("s-2",)
            )
        ],
    )
    assert (up.status, up.level, up.assignees) == ("on_site", "township", ("w-1", "s-2"))
    assert transition(up, Resolve(actor=WORKER, note="done"), at=later(120))[0].status == "resolved"


@pytest.mark.parametrize(
    ("level", "to"), [("village", "village"), ("township", "village"), ("county", "county")]
)
def test_escalation_only_goes_up(level: Level, to: Level) -> None:
    at = case("escalated", assignees=("s-1",), level=level)
    escalate = Escalate(actor=TIMER, level=to, reason="late", assignees=("s-2",))
    with pytest.raises(IllegalTransition) as refused:
        transition(at, escalate, at=later(60))
    assert refused.value.code == "level_not_higher"
    assert f"it is at {level} already" in refused.value.message


def test_a_worker_may_not_close_and_is_told_who_may() -> None:
    with pytest.raises(IllegalTransition) as refused:
        transition(case("verified", assignees=("w-1",)), Close(actor=WORKER), at=later(60))
    assert refused.value.code == "forbidden_role"
    assert refused.value.message == (
        "cannot close incident c1-fire-0001 while it is verified: w-1 is a worker; "
        "close may be done by a supervisor, operator or admin"
    )


def test_the_timer_may_only_dispatch_and_escalate() -> None:
    with pytest.raises(IllegalTransition, match="sla-timer is a system"):
        transition(
            case("dispatched", assignees=("w-1",)),
            Cancel(actor=TIMER, reason="late", false_alarm=False),
            at=later(60),
        )
