"""Every route is reached by its own paths: no route matches the path and method of another, whatever the order
the routers are included in (app.py puts the busiest first, issue 15)."""

import re

from fastapi.routing import APIRoute
from starlette.routing import Match


def _flat(routes):
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router as one entry
        yield from _flat(included.routes) if included is not None else (route,)


def _scope(method: str, path: str) -> dict:
    return {"type": "http", "path": path, "method": method, "root_path": "", "headers": []}


def test_no_route_answers_for_another(app):
    routes = list(_flat(app.router.routes))
    api = [r for r in routes if isinstance(r, APIRoute)]
    assert len(api) > 100
    shadowed = []
    for route in api:
        path = re.sub(r"\{[^}]+\}", "x123", route.path)
        for method in route.methods:
            first = next(r for r in routes if r.matches(_scope(method, path))[0] == Match.FULL)
            if first is not route:
                shadowed.append((method, route.path, getattr(first, "path", first)))
    assert shadowed == []


def test_the_busiest_writes_are_matched_early(app):
    routes = list(_flat(app.router.routes))
    position = {(m, r.path): i for i, r in enumerate(routes) if isinstance(r, APIRoute) for m in r.methods}
    assert position["POST", "/v1/wholesale/subscribers"] < 10
    assert position["POST", "/v1/wholesale/customers"] < 20
