"""Share-group membership rules (collectors/mqtt/group.py): who takes over a dead member."""

from __future__ import annotations

import itertools

import pytest

from collectors.mqtt.group import ShareGroup, Status, check_member_id, takeover_owner
from core.endpoints import MqttEndpoint


def group(client_id: str, statuses: dict[str, Status]) -> ShareGroup:
    member = ShareGroup(
        MqttEndpoint.parse("mqtt://127.0.0.1:1"), "plantroom", client_id, list, lambda *_: None
    )
    member.statuses = dict(statuses)
    member._watching.set()  # as when the watcher is connected and has the retained statuses
    return member


def test_every_member_picks_the_same_live_owner_whatever_the_order() -> None:
    live = ["c1", "c2", "c3", "c4"]
    owners = {takeover_owner("c0", order) for order in itertools.permutations(live)}
    assert len(owners) == 1 and owners <= set(live)
    # the dead members' sessions are spread over the live ones, not all on one
    assert len({takeover_owner(f"dead-{n}", live) for n in range(40)}) == len(live)


def test_exactly_one_live_member_takes_over_an_offline_one() -> None:
    statuses = {"c0": Status.OFFLINE, "c1": Status.ONLINE, "c2": Status.ONLINE}
    chosen = [m for m in ("c1", "c2") if group(m, statuses).to_take_over(0.0) == ["c0"]]
    assert len(chosen) == 1


def test_online_and_left_members_are_not_taken_over() -> None:
    statuses = {"c0": Status.LEFT, "c1": Status.ONLINE, "c2": Status.ONLINE}
    assert group("c1", statuses).to_take_over(0.0) == []
    assert group("c2", statuses).to_take_over(0.0) == []


def test_the_last_member_standing_takes_over_everyone_offline() -> None:
    statuses = {"c0": Status.OFFLINE, "c1": Status.OFFLINE, "c2": Status.ONLINE}
    assert group("c2", statuses).to_take_over(0.0) == ["c0", "c1"]
    # before its own status has come back from the broker it still counts itself live
    assert group("c9", {"c0": Status.OFFLINE}).to_take_over(0.0) == ["c0"]


def test_nothing_is_taken_over_while_the_statuses_are_stale() -> None:
    member = group("c2", {"c0": Status.OFFLINE, "c2": Status.ONLINE})
    member._watching.clear()  # the watcher lost the broker: statuses may be out of date
    assert member.to_take_over(0.0) == []


@pytest.mark.parametrize("client_id", ["", "a/b", "c+", "c#"])
def test_client_ids_that_cannot_be_topic_levels_are_refused(client_id: str) -> None:
    with pytest.raises(ValueError, match="share group"):
        check_member_id(client_id)
