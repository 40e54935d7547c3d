"""Check the emulator's JSON against Google's own discovery documents (the copies shipped in
google-api-python-client): every property must be declared by the schema, with its type
(string, integer, boolean, number, array, object, int64-as-string), recursing through $ref,
items and additionalProperties. Returns a list of problems; empty means conforming."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import googleapiclient

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@cache
def document(name: str) -> dict:
    return json.loads((DOCUMENTS / f"{name}.json").read_text())


def response_schema(name: str, method_path: str) -> str:
    """The schema id a method returns, e.g. ("gmail.v1", "users.messages.get") -> "Message"."""
    node = document(name)
    parts = method_path.split(".")
    for part in parts[:-1]:
        node = node["resources"][part]
    return node["methods"][parts[-1]]["response"]["$ref"]


def validate(name: str, schema_id: str, value) -> list[str]:
    schemas = document(name)["schemas"]
    problems: list[str] = []
    _check(schemas, schemas[schema_id], value, schema_id, problems)
    return problems


def _check(schemas: dict, schema: dict, value, where: str, problems: list[str]) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected object, got {type(value).__name__}")
            return
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                _check(schemas, properties[key], item, f"{where}.{key}", problems)
            elif extra is not None:
                _check(schemas, extra, item, f"{where}[{key}]", problems)
            else:
                problems.append(f"{where}: property {key!r} is not in the schema")
    elif kind == "array":
        if not isinstance(value, list):
            problems.append(f"{where}: expected array, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            _check(schemas, schema.get("items", {}), item, f"{where}[{index}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected string, got {type(value).__name__}")
        elif schema.get("format") in ("int64", "uint64"):
            if not value.lstrip("-").isdigit():
                problems.append(f"{where}: expected an int64 string, got {value!r}")
        elif "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{where}: expected integer, got {type(value).__name__}")
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{where}: expected number, got {type(value).__name__}")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: expected boolean, got {type(value).__name__}")
