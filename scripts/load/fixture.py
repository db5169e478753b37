#!/usr/bin/env python3
"""A fixture for the load run: the demo data plus an employee session and N plain clients."""
import json
import pathlib
import sys

count, first = int(sys.argv[1]), int(sys.argv[2])
demo = json.loads((pathlib.Path(__file__).resolve().parents[2] / "tools/planocore/demo-fixture.json").read_text())
demo["users"].append({"id": 90, "employee_id": 900})
demo["sessions"].append({"token": "load-employee-token", "user_id": 90, "remember_me": True})
demo["clients"] += [{"id": first + i, "first_name": "Load", "last_name": str(i), "email": f"load{i}@clients.example",
                     "entity_id": 5} for i in range(count)]
json.dump(demo, sys.stdout)
