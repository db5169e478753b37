"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

- Clients Update's body is the base64 of a JSON object. Schemathesis encodes arbitrary JSON for
  it; this hook also draws the decoded object from the spec's own `contentSchema`
  (`ClientsUpdateParams`), with demo tokens and the demo fixture's client ids mixed in, so that
  the run reaches the handler's params, permission and write stages.
- Entities Create: slugs and emails must be unique, and generated ones repeat (`0`, `0@0.0`,
  the spec's example): every other valid slug and email is replaced by fresh ones, so that
  creates succeed.
- `Idempotency-Key` (both routes): generated keys repeat too, and a reused key answers
  `idempotency-key-reused` before the params are read; three valid keys in four are replaced by
  fresh ones, so that keyed requests reach the handlers (the rest keep exercising replays and
  reuse).
- `no_undocumented_server_error`: no 5xx, except `route-non-existent` for a method the spec does
  not list on that path (the API's answer to any unknown method and path, docs/api.md#routes).
- `reaches_success`: every operation answered `action-successful` at least once; the statuses
  seen per operation are written to $SCHEMATHESIS_STATUS_FILE.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
from pathlib import Path

import schemathesis
import yaml
from hypothesis import strategies as st

SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
BASE64_BODY = re.compile(SCHEMAS["ClientsUpdateBody"]["pattern"])

DEMO_TOKENS = [
    "demo-employee-token",
    "demo-app-token",
    "demo-client-token",
    "demo-liaison-token",
    "demo-two-roles-token",
    "demo-norole-token",
    "demo-expired-token",
    "demo-app-noperm-token",
]
DEMO_CLIENT_IDS = [100, 101, 102, 103, "100"]

# Keywords that only document; everything else must be understood by `strategy_for`.
ANNOTATIONS = {"description", "title", "examples", "example", "default", "$comment"}


def resolve(schema: dict) -> dict:
    """The schema with a `$ref` into components/schemas replaced by its target (siblings kept)."""
    while "$ref" in schema:
        ref = schema["$ref"]
        prefix = "#/components/schemas/"
        assert ref.startswith(prefix), ref
        siblings = {k: v for k, v in schema.items() if k != "$ref" and k not in ANNOTATIONS}
        schema = {**SCHEMAS[ref[len(prefix):]], **siblings}
    return schema


def strategy_for(schema: dict) -> st.SearchStrategy:
    """Values valid for the (small) subset of JSON Schema the request params use."""
    schema = resolve(schema)
    keys = set(schema) - ANNOTATIONS
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            assert keys == {combinator}, f"unsupported keywords beside {combinator}: {keys}"
            return st.one_of([strategy_for(s) for s in schema[combinator]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" in schema:
            text = st.from_regex(schema["pattern"], fullmatch=True)
        else:
            text = st.text(min_size=lo, max_size=hi if hi is not None else 64)
        return text.filter(lambda s: len(s) >= lo and (hi is None or len(s) <= hi))
    if kind == "array":
        return st.lists(strategy_for(schema["items"]), max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object":
        assert schema.get("additionalProperties") is False, "params objects are closed"
        required = schema.get("required", [])
        props = schema["properties"]
        return st.fixed_dictionaries(
            {name: strategy_for(props[name]) for name in required},
            optional={name: strategy_for(s) for name, s in props.items() if name not in required},
        )
    raise AssertionError(f"unsupported schema: {schema}")


def mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """`usual` four times out of five (shrinking towards `other`)."""
    return st.integers(0, 4).flatmap(lambda i: other if i == 0 else usual)


def _clients_update_params() -> st.SearchStrategy:
    params = resolve(SCHEMAS["ClientsUpdateBody"]["contentSchema"])
    token = mostly(st.sampled_from(DEMO_TOKENS), strategy_for(params["properties"]["token"]))
    client_id = mostly(st.sampled_from(DEMO_CLIENT_IDS), strategy_for(params["properties"]["id"]))

    def with_demo_values(draw_base: dict, tok: str, cid: object) -> dict:
        draw_base = dict(draw_base)
        draw_base["token"] = tok
        draw_base["id"] = cid
        return draw_base

    return st.builds(with_demo_values, strategy_for(params), token, client_id)


def _encode(params: dict) -> str:
    return base64.b64encode(json.dumps(params).encode("utf-8")).decode("ascii")


CLIENTS_UPDATE_BODIES = _clients_update_params().map(_encode)


@schemathesis.hook("flatmap_body").apply_to(method="PUT", path="/api/v1/clients/update")
def flatmap_body(context, body):
    # A body that is not a base64 string was generated to break the schema: keep it as it is.
    if not isinstance(body, str) or not BASE64_BODY.search(body):
        return st.just(body)
    return mostly(CLIENTS_UPDATE_BODIES, st.just(body))


SLUG = re.compile(SCHEMAS["Slug"]["pattern"])
EMAIL = re.compile(SCHEMAS["Email"]["pattern"])
FRESH = itertools.count(1)
ENTITY_CASES = itertools.count(1)


def _valid(value, pattern, max_length) -> bool:
    return isinstance(value, str) and len(value) <= max_length and pattern.search(value) is not None


def _with_fresh_names(body: dict) -> dict:
    n = next(FRESH)
    return {**body, "entity_slug": f"st-{n}", "email": f"st-{n}@entities.example"}


@schemathesis.hook("map_case").apply_to(method="POST", path="/api/v1/entities/create")
def map_case(context, case):
    # Every other case with a valid slug and email gets fresh ones (the others keep exercising
    # the uniqueness checks). Only valid values are replaced: a case generated to break the
    # schema stays broken. `map_case` runs in every phase, the coverage phase included, whose
    # cases start from the spec's example.
    body = case.body
    if (
        isinstance(body, dict)
        and _valid(body.get("entity_slug"), SLUG, SCHEMAS["Slug"]["maxLength"])
        and _valid(body.get("email"), EMAIL, SCHEMAS["Email"]["maxLength"])
        and next(ENTITY_CASES) % 2 == 0
    ):
        case.body = _with_fresh_names(body)
    return _with_fresh_key(case)


IDEMPOTENCY_KEY = re.compile(SPEC["components"]["parameters"]["IdempotencyKey"]["schema"]["pattern"])
KEYED_CASES = itertools.count(1)


def _with_fresh_key(case):
    headers = case.headers or {}
    name = next((n for n in headers if n.lower() == "idempotency-key"), None)
    key = headers.get(name) if name else None
    if isinstance(key, str) and IDEMPOTENCY_KEY.search(key) and next(KEYED_CASES) % 4 != 0:
        headers[name] = f"st-key-{next(FRESH)}"
    return case


@schemathesis.hook("map_case").apply_to(method="PUT", path="/api/v1/clients/update")
def map_update_case(context, case):
    return _with_fresh_key(case)


def _status_slug(response) -> str:
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"non-json-{response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("status"), str):
        return body["status"]
    return f"non-envelope-{response.status_code}"


@schemathesis.check
def no_undocumented_server_error(ctx, response, case):
    """No 5xx, except `route-non-existent` for a method that the spec does not list there."""
    if response.status_code < 500:
        return None
    slug = _status_slug(response)
    other_method = case.method.upper() != case.operation.method.upper()
    if slug == "route-non-existent" and other_method:
        return None
    raise AssertionError(
        f"{case.method.upper()} {case.path} answered HTTP {response.status_code} with status `{slug}`; "
        "with the demo fixture no request may end in a server error"
    )


@schemathesis.check
class reaches_success:
    """Every tested operation answered `action-successful` at least once."""

    def __init__(self):
        self.seen = {}

    def after_response(self, ctx, response, case):
        # Keyed by case id: shrinking and replays call this again for the same case.
        label = f"{case.operation.method.upper()} {case.operation.path}"
        self.seen.setdefault(label, {})[case.id] = _status_slug(response)
        return None

    def after_run(self, ctx):
        summary = {}
        for label, cases in sorted(self.seen.items()):
            counts = {}
            for slug in cases.values():
                counts[slug] = counts.get(slug, 0) + 1
            summary[label] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
        path = os.environ.get("SCHEMATHESIS_STATUS_FILE")
        if path:
            Path(path).write_text(json.dumps(summary, indent=2) + "\n")
        missing = [label for label, counts in summary.items() if "action-successful" not in counts]
        if missing:
            raise AssertionError("never answered action-successful: " + ", ".join(missing))
