#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validates one JSON document on standard input against schemas/NAME.schema.json.

  json_schema.py SCHEMA-DIR NAME     exit 0 valid, 1 invalid (each error on stderr), 2 not JSON

The schemas refer to each other by file name ($ref "account.schema.json"); every schema of
the directory is in the registry, and each is itself checked against its metaschema first.
"""
import glob
import json
import os
import sys

import jsonschema


def make_validator(schema, store):
    """A 2020-12 validator whose $refs resolve within the directory (by $id, which a relative
    reference resolves against): through `referencing` where the library has it (jsonschema
    4.18 on), else through RefResolver (Debian 12's 4.10)."""
    try:
        from referencing import Registry, Resource
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        return jsonschema.Draft202012Validator(schema, resolver=resolver)
    registry = Registry().with_resources((uri, Resource.from_contents(s)) for uri, s in store.items())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def main():
    directory, name = sys.argv[1], sys.argv[2]
    store = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.schema.json"))):
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        store[schema["$id"]] = schema
    with open(os.path.join(directory, name + ".schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    text = sys.stdin.read()
    try:
        document = json.loads(text)
    except ValueError as e:
        print(f"not one JSON document ({e}): {text[:300]!r}", file=sys.stderr)
        return 2
    validator = make_validator(schema, store)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        print(f"{name}: {where}: {error.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
