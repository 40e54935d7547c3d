"""The sync state machine, as properties: every event sequence ends in a known state, a
revoked account stays revoked until reconnected, and a completed round is incremental."""

from hypothesis import given, strategies as st

from ingest.sync import EVENTS, STATES, next_state


@given(st.sampled_from(STATES), st.lists(st.sampled_from(EVENTS), max_size=30))
def test_every_sequence_stays_in_known_states(state, events):
    for event in events:
        state = next_state(state, event)
        assert state in STATES


@given(st.lists(st.sampled_from([e for e in EVENTS if e not in ("reconnect", "disable")]), max_size=20))
def test_revoked_stays_revoked_until_reconnect(events):
    state = "auth_revoked"
    for event in events:
        state = next_state(state, event)
    assert state == "auth_revoked"
    assert next_state(state, "reconnect") == "initial"


@given(st.sampled_from(["initial", "incremental", "full_resync"]))
def test_complete_round_is_incremental_and_expiry_forces_full_resync(state):
    assert next_state(state, "complete") == "incremental"
    assert next_state(state, "cursor_expired") == "full_resync"
    assert next_state(next_state(state, "cursor_expired"), "page") == "full_resync"
