#!/usr/bin/env python3
"""Checks real gateway responses against openapi/scim-bridge.yaml.

The end-to-end tests record every exchange (method, path, status, content type, body) to
responses.jsonl when E2E_RECORD_RESPONSES names a directory. Each recorded response must
be documented for its route and method, with the recorded status, and its JSON body must validate
against the documented schema.

    python3 openapi/check.py openapi/scim-bridge.yaml target/openapi/responses.jsonl
"""

import json
import re
import sys

import jsonschema
import yaml


def route_matchers(spec):
    """(regex, template) for every path, most specific (fewest parameters) first."""
    routes = []
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        routes.append((template.count("{"), re.compile(pattern), template))
    routes.sort(key=lambda r: r[0])
    return [(regex, template) for _, regex, template in routes]


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        node = spec
        for part in parts:
            node = node[part]
    return node


def main():
    spec_path, records_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    routes = route_matchers(spec)
    failures, checked, by_route = [], 0, {}
    with open(records_path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    for record in records:
        method, path, status = record["method"].lower(), record["path"], str(record["status"])
        template = next((t for regex, t in routes if regex.match(path)), None)
        where = f"{record['method']} {path} -> {status}"
        if template is None:
            # Requests to routes that do not exist must be documented 404s elsewhere; a 404
            # SCIM error body is all we can check.
            if status != "404":
                failures.append(f"{where}: no documented route matches")
            continue
        operation = spec["paths"][template].get(method)
        if operation is None:
            if status != "405":
                failures.append(f"{where}: {template} documents no {method.upper()}")
            continue
        response = operation.get("responses", {}).get(status)
        if response is None:
            failures.append(f"{where}: status {status} is not documented for {method.upper()} {template}")
            continue
        response = resolve(spec, response)
        checked += 1
        by_route[f"{method.upper()} {template}"] = by_route.get(f"{method.upper()} {template}", 0) + 1
        content = response.get("content")
        if not content or record["body"] is None:
            continue
        media = (record.get("content_type") or "").split(";")[0].strip()
        if media not in content:
            failures.append(f"{where}: content type {media!r} is not documented ({', '.join(content)})")
            continue
        schema = content[media].get("schema")
        if schema is None:
            continue
        root = dict(schema)
        root["components"] = spec["components"]
        try:
            jsonschema.Draft202012Validator(root).validate(record["body"])
        except jsonschema.ValidationError as e:
            failures.append(f"{where}: body does not match the schema: {e.message} at {list(e.absolute_path)}")
    documented = {f"{m.upper()} {t}" for t, ops in spec["paths"].items() for m in ops if m in ("get", "post", "put", "patch", "delete")}
    unexercised = sorted(documented - set(by_route))
    for failure in failures:
        print("FAIL", failure)
    if unexercised:
        print("not exercised by the tests:", ", ".join(unexercised))
    print(f"openapi check: {checked} responses match the document, {len(failures)} do not")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
