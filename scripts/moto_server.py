#!/usr/bin/env python3
"""moto's DynamoDB (and Secrets Manager) server with one request served at a time.

`moto_server` runs every request on its own thread and its TransactWriteItems checks conditions
and then writes without a lock, so two racing transactions can both pass their
`attribute_not_exists` guards. Real DynamoDB never lets that happen (it cancels one with
TransactionConflict). Serialising requests gives the emulator the atomicity the tests rely on.

Usage: .venv/bin/python scripts/moto_server.py PORT
"""
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def serialised(environ, start_response):
        with one_at_a_time:
            # Produce the whole body inside the lock: the request is done when it is sent.
            return [b"".join(app(environ, start_response))]

    run_simple("127.0.0.1", port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
