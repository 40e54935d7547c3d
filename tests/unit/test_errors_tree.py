"""The error hierarchy drawn in ingest/errors.py's docstring is the code's, whole."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import ingest.errors

ROOT = Path(__file__).resolve().parents[2]
# Drawn without their module (ingest.errors itself), or found in these modules.
HOMES = (
    "ingest.errors",
    "service.providers",
    "service.providers.oauth_states",
    "service.crypto",
    "service.sync",
    "service.digest.outbox",
    "service.digest.mailer",
    "service.jobs.actors",
    "service.providers.web_flow",
    "service.ties.as_of",
    "service.ties.cursor",
    "service.people.exclusion_pages",
    "service.uploads",
    "service.teams.invitations",
)
OUTSIDE = {"Exhausted", "Unreadable", "_Refused", "_BodyTooLarge", "LockboxError"}  # named in the docstring as such


def drawn() -> dict[str, str]:
    """class name -> parent name, read from the docstring's tree."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (ingest.errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*(?:[├└]── )?)(\w+)", line)
        if not match or not ("──" in line or line.strip() == "KithError"):
            continue
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def find(name: str) -> type:
    for home in HOMES:
        found = getattr(importlib.import_module(home), name, None)
        if isinstance(found, type):
            return found
    raise AssertionError(f"{name} is drawn but defined in none of {HOMES}")


def test_every_drawn_class_subclasses_its_drawn_parent():
    # Given the tree in the docstring
    parents = drawn()
    assert len(parents) >= 17 and parents["RateLimited"] == "SourceError"
    # Then each class exists and derives directly from the parent drawn above it
    for name, parent in parents.items():
        assert find(parent) in find(name).__bases__, f"{name} should subclass {parent}"


def test_every_exception_class_of_the_application_is_in_the_tree():
    # Given every class in ingest/, analytics/ and service/ that derives from an exception
    drawn_names = set(drawn()) | {"KithError"}
    stray = []
    for path in [p for top in ("ingest", "analytics", "service") for p in (ROOT / top).rglob("*.py")]:
        if "sandbox" in path.parts:  # the emulators play the providers, not Kith
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ClassDef)
                and any(
                    isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")) or b.id in drawn_names)
                    for b in node.bases
                )
                and node.name not in drawn_names
                and node.name not in OUTSIDE
            ):
                stray.append(f"{path.relative_to(ROOT)}:{node.name}")
    # Then none is missing from the drawing (or its list of deliberate outsiders)
    assert stray == []
    assert all(name in (ingest.errors.__doc__ or "") for name in OUTSIDE)
