#!/usr/bin/env python3
"""Writes the API Gateway HTTP API (payload 2.0) events in events/.

Each file is named <function>.<expected status>[.<variant>].json: the tests run every event
through its function's handler against the demo fixture and check that status (`preflight`:
a CORS preflight, answered 204 without a body), and
`sam local invoke -e events/<file>` takes the same files. Run this script after changing it.
"""
import base64
import json
import pathlib

EVENTS = pathlib.Path(__file__).resolve().parent.parent / "events"

UPDATE = ("PUT", "/api/v1/clients/update")
CREATE = ("POST", "/api/v1/entities/create")

ADDRESS = {"street": "5 Elm St", "city": "Denver", "state": "CO", "country": "US", "postal_code": "80203"}


def b64(params):
    return base64.b64encode(json.dumps(params).encode()).decode()


def event(name, method, path, body, content_type="application/json", base64_encoded=False, idempotency_key=None,
          extra_headers=None):
    headers = {"host": "api.planocore.example", "user-agent": "planocore-events/1.0", **(extra_headers or {})}
    if content_type is not None:
        headers["content-type"] = content_type
    if idempotency_key is not None:
        headers["idempotency-key"] = idempotency_key
    route_key = f"{method} {path}" if (method, path) in (UPDATE, CREATE) else "$default"
    ev = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "planocore",
            "domainName": "api.planocore.example",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "planocore-events/1.0"},
            "requestId": "evt-" + name.replace(".", "-"),
            "routeKey": route_key,
            "stage": "$default",
            "time": "23/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795435200000,
        },
        "isBase64Encoded": base64_encoded,
    }
    if body is not None:
        ev["body"] = body
    (EVENTS / f"{name}.json").write_text(json.dumps(ev, indent=2) + "\n")


def update(name, params, **kw):
    event(f"clients-update.{name}", *UPDATE, b64(params), **kw)


def create(name, params, **kw):
    event(f"entities-create.{name}", *CREATE, json.dumps(params), **kw)


def entity(**over):
    params = {"token": "demo-app-token", "integration_id": 7, "entity_slug": "peak-realty",
              "email": "team@peak.example", "name": "Peak Realty", "address": ADDRESS, "active": True}
    params.update(over)
    return {k: v for k, v in params.items() if v is not None}


def main():
    EVENTS.mkdir(exist_ok=True)
    for old in EVENTS.glob("*.json"):
        old.unlink()

    update("action-successful", {"token": "demo-employee-token", "id": 100, "phone": "303-555-0199",
                                 "assistant_emails": "desk@ada.example, help@ada.example"})
    update("action-successful.own-profile", {"token": "demo-client-token", "id": 100,
                                             "bio": "Denver realtor.\nTwenty years.",
                                             "view": "planox_client_read_profile"})
    update("action-successful.application", {"token": "demo-app-token", "id": 101,
                                              "view": "planox_client_read_branding"})
    # API Gateway's own base64 layer around the route's base64 body.
    event("clients-update.action-successful.apigw-base64", *UPDATE,
          base64.b64encode(b64({"token": "demo-liaison-token", "id": 102, "phone": "720-555-0102"}).encode()).decode(),
          base64_encoded=True)
    update("invalid-token", {"token": "no-such-token", "id": 100})
    update("session-expired", {"token": "demo-expired-token", "id": 100})
    update("session-expired.idle", {"token": "demo-idle-token", "id": 100})
    update("client-required", {"token": "demo-norole-token", "id": 100})
    update("permission-denied", {"token": "demo-app-noperm-token", "id": 100})
    update("permission-denied.param", {"token": "demo-client-token", "id": 100, "active": False,
                                       "employee_notes": "mine"})
    update("missing-param", {"token": "demo-employee-token", "first_name": "Ada"})
    update("missing-param.token", {"id": 100, "first_name": "Ada"})
    update("invalid-param", {"token": "demo-client-token", "id": 102, "phone": "1"})
    update("invalid-param.token", {"token": 42, "id": 100})
    update("invalid-param.email-taken", {"token": "demo-employee-token", "id": 100, "email": "GRACE@example.com"})
    # An Idempotency-Key that is not 1 to 255 visible ASCII characters (stage 10a).
    update("invalid-param.idempotency-key", {"token": "demo-employee-token", "id": 100, "phone": "303-555-0142"},
           idempotency_key="two words")
    update("invalid-content-type", {"token": "demo-employee-token", "id": 100}, content_type="text/plain")
    update("no-params-decoded", {})
    event("clients-update.invalid-encoded-params", *UPDATE, json.dumps({"token": "demo-employee-token", "id": 100}))
    event("clients-update.route-non-existent", "PUT", "/api/v1/clients/update/", b64({"token": "x", "id": 1}))

    create("action-successful", entity())
    create("action-successful.employee", entity(token="demo-employee-token", integration_id=8,
                                                entity_slug="summit-north", email="north@summit.example",
                                                order_completion_emails=["done@summit.example"],
                                                view="planoadmin_company_read"))
    # Retry-safe: sent again with this key, the answer is replayed (docs/api.md#idempotency).
    create("action-successful.idempotency-key", entity(entity_slug="ridge-realty", email="hello@ridge.example"),
           idempotency_key="9f1c2b7e-create-ridge-realty")
    create("invalid-token", entity(token="demo-app-inactive-token"))
    create("session-expired", entity(token="demo-idle-token"))
    create("permission-denied", entity(token="demo-client-token"))
    create("permission-denied.integration", entity(integration_id=8))
    create("missing-param", entity(address={"street": "5 Elm St"}, name=""))
    create("invalid-param", entity(entity_slug="acme-realty", email="OPS@acme.example"))
    create("invalid-param.integration", entity(token="demo-employee-token", integration_id=99))
    create("invalid-content-type", entity(), content_type=None)
    event("entities-create.no-params-decoded", *CREATE, "[]")
    event("entities-create.invalid-encoded-params", *CREATE, b64(entity()))
    event("entities-create.route-non-existent", "GET", "/api/v1/entities/create", None)

    event("route-fallback.route-non-existent", "GET", "/api/v1/clients/list", None)
    # A browser's preflight before a cross-origin PUT: API Gateway sends it to the $default route.
    event("route-fallback.preflight", "OPTIONS", "/api/v1/clients/update", None, content_type=None,
          extra_headers={"origin": "https://app.planomatic.com", "access-control-request-method": "PUT",
                         "access-control-request-headers": "content-type,idempotency-key"})


if __name__ == "__main__":
    main()
