#!/usr/bin/env python3
"""The environment compose.yaml gives SERVICE, made runnable on loopback:
every `<compose service>:<port>` address becomes `127.0.0.1:<port>`, the
listener is pinned to 127.0.0.1 and the metrics port is ephemeral.

Usage: compose_env.py SERVICE COMPOSE_JSON   (prints KEY=VALUE lines)
COMPOSE_JSON is `docker-compose -f compose.yaml config --format json`.
Using compose's own variables proves they are all a binary needs to start.
"""

import json
import re
import sys


def main() -> int:
    svc, path = sys.argv[1], sys.argv[2]
    services = json.load(open(path))["services"]
    if svc not in services:
        print(f"compose.yaml has no service {svc}", file=sys.stderr)
        return 1
    env = dict(services[svc].get("environment") or {})
    own_port = str(env.get("PORT", ""))
    for key, val in env.items():
        m = re.fullmatch(r"([a-z0-9-]+):(\d+)", str(val or ""))
        if m and m.group(1) in services:
            # nothing listens there in the test's network namespace (a peer on
            # the service's own port, e.g. frontend -> recommendation :8080,
            # goes to the closed port 9 instead)
            port = m.group(2) if m.group(2) != own_port else "9"
            env[key] = f"127.0.0.1:{port}"
    env["LISTEN_ADDR"] = "127.0.0.1"
    env["METRICS_PORT"] = "0"
    env.setdefault("RUST_LOG", "info")
    for key, val in sorted(env.items()):
        val = "" if val is None else str(val)
        if "\n" in val:
            print(f"{key}: multi-line values are not supported", file=sys.stderr)
            return 1
        print(f"{key}={val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
