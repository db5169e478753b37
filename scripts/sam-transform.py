#!/usr/bin/env python3
"""Transforms template.yaml into CloudFormation offline, as CloudFormation's SAM transform would.

    .venv-sam/bin/python scripts/sam-transform.py [Name=Value ...]     one template, JSON
    .venv-sam/bin/python scripts/sam-transform.py --batch < cases.json  cases: a JSON list of
                                                     {"Name": "Value"} objects; prints a list

Runs under .venv-sam (scripts/test installs aws-sam-cli there, pinned; it brings samtranslator).
No AWS account: the region is fixed and a local CodeUri becomes s3://local/<CodeUri>, as
`sam package` would upload it (its key then changes with the code, not with the parameters).
The template tests (tools/planocore/tests/it/sam_template/) read what this prints.
"""
import json
import logging
import os
import pathlib
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# No instance metadata to wait for (boto3 would look for a region and credentials there).
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from samcli.yamlhelper import yaml_parse  # noqa: E402  (after the region)
from samtranslator.parser.parser import Parser  # noqa: E402
from samtranslator.translator.translator import Translator  # noqa: E402

# samtranslator warns about its own feature toggles on every transform.
logging.disable(logging.WARNING)

TEMPLATE = pathlib.Path(__file__).resolve().parent.parent / "template.yaml"


def transform(overrides):
    template = yaml_parse(TEMPLATE.read_text())
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://local/" + props["CodeUri"]
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), plugins=[])
    return translator.translate(sam_template=template, parameter_values=dict(overrides),
                                get_managed_policy_map=lambda: {})


def main(args):
    if args == ["--batch"]:
        print(json.dumps([transform(case) for case in json.load(sys.stdin)]))
        return
    overrides = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            sys.exit(f"usage: {sys.argv[0]} [Name=Value ...] | --batch < cases.json (got {arg!r})")
        overrides[name] = value
    print(json.dumps(transform(overrides), indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
