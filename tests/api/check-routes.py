#!/usr/bin/env python3
"""Compares hostd's router table with the paths of api/openapi.yaml.

Usage: check-routes.py HOSTD [OPENAPI_YAML]

Runs `HOSTD --print-routes`, which prints one route per line as `METHOD PATH`
(e.g. `GET /v1/instances/{name}`), and compares that set with the (METHOD, PATH)
pairs under `paths` in the document (default: api/openapi.yaml of this checkout).
Prints every difference and exits 1 if there is any, 0 if the two agree, 2 on a
usage or setup error.
"""

import os
import subprocess
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check-routes: PyYAML is missing (apt-get install python3-yaml)")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def document_routes(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    paths = (doc or {}).get("paths") or {}
    routes = set()
    for p, item in paths.items():
        for key in item or {}:
            if isinstance(key, str) and key.lower() in HTTP_METHODS:
                routes.add((key.upper(), p))
    return routes


def router_routes(hostd):
    try:
        res = subprocess.run([hostd, "--print-routes"], capture_output=True, text=True,
                             timeout=60, check=False)
    except OSError as e:
        sys.exit(f"check-routes: cannot run {hostd}: {e}")
    except subprocess.TimeoutExpired:
        sys.exit(f"check-routes: {hostd} --print-routes did not finish within 60 s")
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        sys.exit(f"check-routes: {hostd} --print-routes exited with status {res.returncode}")
    routes = set()
    bad = []
    for n, line in enumerate(res.stdout.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].startswith("/"):
            bad.append(f"line {n}: {line!r} is not 'METHOD PATH'")
            continue
        routes.add((parts[0].upper(), parts[1]))
    if bad:
        for b in bad:
            print(f"check-routes: {hostd} --print-routes: {b}", file=sys.stderr)
        sys.exit(2)
    if not routes:
        sys.exit(f"check-routes: {hostd} --print-routes printed no routes")
    return routes


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    hostd = argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    document = argv[2] if len(argv) == 3 else os.path.normpath(
        os.path.join(here, "..", "..", "api", "openapi.yaml"))

    in_doc = document_routes(document)
    in_router = router_routes(hostd)

    def key(r):
        return (r[1], r[0])

    only_router = sorted(in_router - in_doc, key=key)
    only_doc = sorted(in_doc - in_router, key=key)
    for method, path in only_router:
        print(f"in router, not in openapi.yaml: {method} {path}")
    for method, path in only_doc:
        print(f"in openapi.yaml, not in router: {method} {path}")
    if only_router or only_doc:
        print(f"check-routes: {len(only_router) + len(only_doc)} difference(s) between "
              f"{hostd} and {document}", file=sys.stderr)
        return 1
    print(f"check-routes: {len(in_router)} routes, router and openapi.yaml agree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
