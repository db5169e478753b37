#!/usr/bin/env python3
"""The functions of template.yaml, one `LogicalId:binary` a line (--api: only the ones behind the
HTTP API), for the scripts that run every function (scripts/sam-local, scripts/check-artifacts,
scripts/lambda_perf.py). The template's functions are checked against the route catalogue by
tools/planocore/tests/it/template.rs, so a new route reaches these scripts with no edit of theirs.

Reads the template's own layout (two-space resources, `Binary:` under BuildProperties, `Type:
HttpApi` events) with no YAML library: the scripts run before any venv exists.
"""
import pathlib
import re
import sys

TEMPLATE = pathlib.Path(__file__).resolve().parent.parent.parent / "template.yaml"


def functions(api_only=False):
    """[(logical id, binary)] in the template's order."""
    found, current, in_resources = [], None, False
    for line in TEMPLATE.read_text().splitlines() + ["End:"]:
        top = re.match(r"^(\w+):", line)
        resource = re.match(r"^  (\w+):\s*$", line)
        if top or (in_resources and resource):
            if current and current["function"] and (current["api"] or not api_only):
                found.append((current["id"], current["binary"]))
            current = {"id": resource.group(1), "function": False, "binary": None, "api": False} if resource else None
            in_resources = in_resources if resource else top.group(1) == "Resources"
            continue
        if current:
            if re.match(r"^    Type: AWS::Serverless::Function\s*$", line):
                current["function"] = True
            elif m := re.match(r"^\s+Binary: (\S+)\s*$", line):
                current["binary"] = m.group(1)
            elif re.match(r"^\s+Type: HttpApi\s*$", line):
                current["api"] = True
    return found


if __name__ == "__main__":
    for logical_id, binary in functions(api_only="--api" in sys.argv[1:]):
        print(f"{logical_id}:{binary}")
