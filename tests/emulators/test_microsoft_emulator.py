"""The Microsoft emulator answers as Graph does: its JSON matches Graph's own CSDL schema,
and delta, paging, $select, throttling and stale sync state behave as documented."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import pytest
import requests

from ingest.sandbox.microsoft import start_microsoft_emulator
from ingest.sandbox.world import generate_world

from tests.conftest import SHARED

CSDL = SHARED / "specs" / "msgraph-v1.0.csdl"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@lru_cache(maxsize=1)
def schema() -> dict:
    """microsoft.graph's structured types {name: (base, {property: (type, nullable)})} and enums."""
    root = ET.parse(CSDL).getroot()
    graph = next(s for s in root.iter(f"{EDM}Schema") if s.get("Namespace") == "microsoft.graph")
    types, enums = {}, {}
    for kind in ("EntityType", "ComplexType"):
        for node in graph.findall(f"{EDM}{kind}"):
            props = {
                p.get("Name"): (p.get("Type"), p.get("Nullable") != "false") for p in node.findall(f"{EDM}Property")
            }
            types[node.get("Name")] = (node.get("BaseType"), props)
    for node in graph.findall(f"{EDM}EnumType"):
        enums[node.get("Name")] = {m.get("Name") for m in node.findall(f"{EDM}Member")}
    return {"types": types, "enums": enums}


def properties(type_name: str) -> dict:
    types = schema()["types"]
    name = type_name.split(".")[-1]
    base, props = types[name]
    return {**(properties(base) if base else {}), **props}


def check(value, type_name: str, path: str, problems: list[str]) -> None:
    """Record every way `value` does not fit the CSDL type `type_name`."""
    if type_name.startswith("Collection("):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a collection")
            return
        for i, element in enumerate(value):
            check(element, type_name[11:-1], f"{path}[{i}]", problems)
        return
    if value is None:
        return
    if type_name.startswith("Edm."):
        primitive = type_name[4:]
        ok = {
            "String": isinstance(value, str),
            "Boolean": isinstance(value, bool),
            "Int32": isinstance(value, int) and not isinstance(value, bool),
            "Binary": isinstance(value, str),
        }.get(primitive)
        if primitive == "DateTimeOffset":
            try:
                ok = datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
            except (AttributeError, ValueError):
                ok = False
        if not ok:
            problems.append(f"{path}: {value!r} is not {type_name}")
        return
    name = type_name.split(".")[-1]
    if name in schema()["enums"]:
        if value not in schema()["enums"][name]:
            problems.append(f"{path}: {value!r} is not a member of {name}")
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a {name} object")
        return
    props = properties(name)
    for key, element in value.items():
        if key.startswith("@"):
            continue
        if key not in props:
            problems.append(f"{path}.{key}: no such property on {name}")
            continue
        prop_type, nullable = props[key]
        if element is None and not nullable:
            problems.append(f"{path}.{key}: null where {name} forbids it")
        check(element, prop_type, f"{path}.{key}", problems)


@pytest.fixture(scope="module")
def world():
    return generate_world(7)


@pytest.fixture(scope="module")
def emulator(world):
    emulator = start_microsoft_emulator(world)
    yield emulator
    emulator.stop()


@pytest.fixture
def graph(emulator):
    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_file
    session.headers["Authorization"] = f"Bearer {emulator.access_token_for()}"

    def get(path, prefer=None, **params):
        url = path if path.startswith("https://") else emulator.graph_base + path
        return session.get(url, params=params or None, headers={"Prefer": prefer} if prefer else {})

    yield get
    session.close()


def walk(get, first, prefer="odata.maxpagesize=500", **params):
    pages = [get(first, prefer, **params)]
    while "@odata.nextLink" in pages[-1].json():
        pages.append(get(pages[-1].json()["@odata.nextLink"], prefer))
    return pages


def test_the_schema_parser_knows_graphs_types():
    # The checker itself: it must see inherited properties and reject what is not there.
    assert properties("message")["id"] == ("Edm.String", False)
    assert "createdDateTime" in properties("event") and "showAs" in properties("event")
    problems: list[str] = []
    check({"id": "x", "subject": 3, "importance": "urgent", "nonsense": 1}, "graph.message", "m", problems)
    assert len(problems) == 3


def test_every_response_fits_graphs_csdl(graph):
    problems: list[str] = []
    # Given the responses of every route, with all properties (no $select)
    me = graph("/me", **{"$select": "id,displayName,mail,userPrincipalName,proxyAddresses"}).json()
    check(me, "graph.user", "me", problems)
    for folder in graph("/me/mailFolders").json()["value"]:
        check(folder, "graph.mailFolder", "folder", problems)
    messages = [m for page in walk(graph, "/me/mailFolders/inbox/messages/delta") for m in page.json()["value"]]
    events = [
        e
        for page in walk(
            graph, "/me/calendarView/delta", startDateTime="2024-01-01T00:00:00Z", endDateTime="2027-03-01T00:00:00Z"
        )
        for e in page.json()["value"]
    ]
    assert len(messages) > 1000 and len(events) > 100
    for i, m in enumerate(messages):
        check(m, "graph.message", f"message[{i}]", problems)
    for i, e in enumerate(events):
        check(e, "graph.event", f"event[{i}]", problems)
    # Then nothing in them is foreign to Graph's schema
    assert problems == []
    assert {e["showAs"] for e in events} <= schema()["enums"]["freeBusyStatus"]


def test_select_returns_only_what_was_asked_and_refuses_bodies_under_readbasic(graph):
    page = graph(
        "/me/mailFolders/inbox/messages/delta", "odata.maxpagesize=5", **{"$select": "from,sentDateTime"}
    ).json()
    assert page["value"] and all(set(m) <= {"id", "from", "sentDateTime"} for m in page["value"])
    # $select is kept in the next link, as Graph embeds it in the skip token
    after = graph(page["@odata.nextLink"]).json()
    assert all(set(m) <= {"id", "from", "sentDateTime"} for m in after["value"])
    bodies = graph("/me/mailFolders/inbox/messages/delta", **{"$select": "from,body"}).json()
    assert all("body" not in m for m in bodies["value"])
    assert graph("/me/mailFolders/inbox/messages/delta", **{"$select": "nonsense"}).status_code == 400


def test_page_size_follows_prefer_and_is_reported(graph):
    response = graph("/me/mailFolders/inbox/messages/delta", "odata.maxpagesize=7")
    assert len(response.json()["value"]) == 7
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=7"
    assert len(graph("/me/mailFolders/inbox/messages/delta").json()["value"]) == 10  # Graph's default


def test_world_folders_are_served_and_bodies_never_are(emulator, world, graph):
    inbox = {m.graph_id for m in world.messages_for("microsoft") if m.folder == "inbox"}
    served = {m["id"] for page in walk(graph, "/me/mailFolders/inbox/messages/delta") for m in page.json()["value"]}
    assert served == inbox
    text = graph("/me/mailFolders/sentitems/messages/delta", "odata.maxpagesize=1000").text
    assert "BODY-MARKER" not in text


def test_a_stale_or_foreign_delta_token_is_410_sync_state_not_found(graph, emulator):
    emulator.add_folder("Projects")
    pages = walk(graph, "/me/mailFolders/projects/messages/delta")
    delta = pages[-1].json()["@odata.deltaLink"]
    # A token of one folder used on another
    foreign = emulator.graph_base + "/me/mailFolders/inbox/messages/delta?" + delta.split("?", 1)[1]
    answer = graph(foreign)
    assert answer.status_code == 410 and answer.json()["error"]["code"] == "syncStateNotFound"
    # After Exchange drops the sync state
    assert graph(delta).status_code == 200
    emulator.expire_delta_tokens()
    assert graph(delta).status_code == 410


def test_fifth_concurrent_request_of_a_mailbox_gets_429_with_retry_after(emulator, graph):
    emulator.latency = 0.3
    emulator.reset_stats()
    statuses: list[tuple[int, str | None]] = []
    try:

        def one():
            r = graph("/me/mailFolders")
            statuses.append((r.status_code, r.headers.get("Retry-After")))

        threads = [threading.Thread(target=one) for _ in range(7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        emulator.latency = 0.0
    assert sorted(s for s, _ in statuses).count(200) == 4
    assert all(s == 429 and ra for s, ra in statuses if s != 200)
    assert emulator.peak_in_flight == 4 and emulator.peak_wanted == 5


def test_fault_switch_serves_429_and_503_storms(emulator, graph):
    emulator.fail_next(2, status=503, retry_after=3)
    first, second, third = (graph("/me/mailFolders") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "3"


def test_calendar_view_delta_needs_a_window_and_serves_events_in_it(graph, world):
    assert graph("/me/calendarView/delta").status_code == 400
    start, end = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc)
    events = [
        e
        for p in walk(graph, "/me/calendarView/delta", startDateTime=start.isoformat(), endDateTime=end.isoformat())
        for e in p.json()["value"]
    ]
    assert events
    for e in events:
        begins = datetime.fromisoformat(e["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
        assert start - timedelta(days=1) < begins < end and e["start"]["timeZone"] == "UTC"
    # outlook.timezone turns wall times into the asked zone (same instant)
    local = graph(
        "/me/calendarView/delta",
        'outlook.timezone="Pacific Standard Time"',
        startDateTime=start.isoformat(),
        endDateTime=end.isoformat(),
    ).json()["value"][0]
    assert local["start"]["timeZone"] == "Pacific Standard Time"


def test_unauthenticated_and_unconsented_requests_are_refused(emulator):
    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_file
    assert session.get(emulator.graph_base + "/me").status_code == 401
    token = emulator.access_token_for(scopes=("User.Read",))
    answer = session.get(
        emulator.graph_base + "/me/mailFolders/inbox/messages/delta", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403


def test_tls_is_only_trusted_with_the_emulators_ca(emulator):
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        session.get(emulator.authority + "/v2.0/.well-known/openid-configuration")
