"""Structural check of compose.yaml and deploy/nginx.conf where Docker cannot run them (no daemon here):

    .venv/bin/python deploy/check_compose.py

Every service has an image or a build, depends_on names services (with a healthcheck where it waits for health),
networks exist, the load balancer's fixed address is in the subnet and is the one every process trusts for
X-Forwarded-*, every wholesale process has the same environment except a distinct WHOLESALE_EXECUTOR_ID per
worker, and nginx's upstreams are exactly the api-* services.
"""

import ipaddress
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, f"{name}: no image or build"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert cond["condition"] in ("service_started", "service_healthy", "service_completed_successfully")
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health, which has no healthcheck"
        for net in svc.get("networks") or []:
            assert net in compose["networks"], f"{name}: unknown network {net}"
    apis = sorted(n for n in services if n.startswith("api-"))
    workers = sorted(n for n in services if n.startswith("worker-"))
    assert len(apis) >= 2 and len(workers) >= 2, (apis, workers)
    ids = [services[w]["environment"]["WHOLESALE_EXECUTOR_ID"] for w in workers]
    assert len(set(ids)) == len(ids), f"executor ids must differ: {ids}"
    subnet = ipaddress.ip_network(compose["networks"]["backend"]["ipam"]["config"][0]["subnet"])
    lb_ip = services["lb"]["networks"]["backend"]["ipv4_address"]
    assert ipaddress.ip_address(lb_ip) in subnet, f"{lb_ip} not in {subnet}"
    shared = services["migrate"]["environment"]
    for name in [*apis, *workers]:
        env = {k: v for k, v in services[name]["environment"].items() if k != "WHOLESALE_EXECUTOR_ID"}
        assert env == shared, f"{name}: environment differs from the shared one"
        assert "--no-workers" in services[name]["command"] or name in workers, f"{name} would run jobs"
    assert shared["WHOLESALE_FORWARDED_ALLOW_IPS"] == lb_ip
    assert shared["WHOLESALE_DATABASE_URL"].startswith("postgresql")
    upstreams = sorted(re.findall(r"server (api-\d+):8000", (ROOT / "deploy" / "nginx.conf").read_text()))
    assert upstreams == apis, f"nginx upstreams {upstreams} != services {apis}"
    print(
        f"compose.yaml OK: {', '.join(services)}; nginx upstreams {', '.join(upstreams)}; executor ids {', '.join(ids)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
