"""Every JSON response the suite's HTTP client receives is validated against our own OpenAPI document.

`attach(client, app)` installs an httpx response hook on a TestClient. For each response it finds the operation
(method + path template) in `app.openapi()`, picks the schema declared for the status code (exact code, then
`4XX`-style range, then `default`) and validates the body with `jsonschema` (OpenAPI 3.1 is JSON Schema 2020-12;
one `referencing` Registry holds the whole document, so `#/components/schemas/...` refs resolve). A mismatch
raises AssertionError naming method, path, status and the validation error, which fails the calling test.

Skipped: non-JSON bodies (portal HTML, CSV, metrics text), 204/304, redirects, HEAD/OPTIONS, and paths the
document does not describe (the portal, /metrics) unless they answer with an error: a JSON 4xx/5xx anywhere is
held to the Webex error body. So is an error status an operation does not declare.
"""

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT_URI = "https://wholesale.invalid/openapi.json"
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
# The Webex error body every 4xx/5xx carries (also declared in our OpenAPI as kit.schemas.ErrorBody).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message", "errors", "trackingId"],
    "additionalProperties": False,
    "properties": {
        "message": {"type": "string"},
        "trackingId": {"type": "string"},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["description", "errorCode"],
                "additionalProperties": False,
                "properties": {"description": {"type": "string"}, "errorCode": {"type": "integer"}},
            },
        },
    },
}


def _pointer(*segments: str) -> str:
    """A JSON pointer (RFC 6901), percent-encoded for use in a URI fragment."""
    return "".join("/" + quote(s.replace("~", "~0").replace("/", "~1"), safe="") for s in segments)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


@dataclass(frozen=True)
class Operation:
    """One method on one path template of the document."""

    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    responses: dict[str, Any]


@dataclass
class OpenAPIChecker:
    """Validates responses against an OpenAPI 3.1 document; counts what it checked and what it skipped."""

    document: dict[str, Any]
    validated: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        resource: Resource[Any] = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self._operations: list[Operation] = []
        for template, item in self.document.get("paths", {}).items():
            regex = "".join(
                "/" + ("[^/]+" if re.fullmatch(r"\{[^}]+\}", seg) else re.escape(seg))
                for seg in template.split("/")[1:]
            )
            literal = sum(1 for seg in template.split("/")[1:] if not seg.startswith("{"))
            for method, operation in item.items():
                if isinstance(operation, dict) and "responses" in operation:
                    self._operations.append(
                        Operation(method.upper(), template, re.compile(regex), literal, operation["responses"])
                    )
        self._validators: dict[str, Draft202012Validator] = {}
        self._lock = threading.Lock()

    def _validator(self, ref: str) -> Draft202012Validator:
        with self._lock:
            validator = self._validators.get(ref)
            if validator is None:
                schema = {"$ref": ref} if ref else ERROR_SCHEMA
                validator = Draft202012Validator(schema, registry=self._registry)
                self._validators[ref] = validator
            return validator

    def match(self, method: str, path: str) -> Operation | None:
        """The operation serving `method path`: of the templates that match, the most literal one."""
        candidates = [op for op in self._operations if op.method == method and op.pattern.fullmatch(path)]
        return max(candidates, key=lambda op: op.literal_segments, default=None)

    def _documented(self, path: str) -> bool:
        return any(op.pattern.fullmatch(path) for op in self._operations)

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> None:
        """Validate one response; raise AssertionError on a mismatch."""
        method = method.upper()
        where = f"{method} {path} -> {status}"
        if method in SKIPPED_METHODS:
            return self._skip("method")
        if status == 204 or status == 304 or 300 <= status < 400:
            return self._skip("no body or redirect")
        if not _is_json(content_type):
            return self._skip("not JSON")
        try:
            instance = json.loads(body)
        except ValueError as exc:
            raise AssertionError(f"{where}: the body is not valid JSON ({exc}): {body[:200]!r}") from None
        operation = self.match(method, path)
        if operation is None:
            if status >= 400:
                return self._validate("", instance, where, "undocumented path: the Webex error body")
            if self._documented(path):
                raise AssertionError(f"{where}: {method} is not in our OpenAPI for {path}, yet it answered")
            return self._skip("path not in OpenAPI")
        key = self._response_key(operation, status)
        if key is None:
            if status >= 400:
                label = f"{method} {operation.template} {status} (undeclared): the Webex error body"
                return self._validate("", instance, where, label)
            raise AssertionError(
                f"{where}: status {status} is not declared for {method} {operation.template} "
                f"(declared: {sorted(operation.responses)})"
            )
        content = operation.responses[key].get("content") or {}
        media = next((m for m in content if _is_json(m)), None)
        if media is None:
            raise AssertionError(f"{where}: answered JSON, but {key} of {operation.template} declares no JSON body")
        if "schema" not in content[media]:
            raise AssertionError(f"{where}: {key} of {operation.template} declares JSON without a schema")
        ref = DOCUMENT_URI + "#" + _pointer("paths", operation.template, method.lower(), "responses", key)
        ref += _pointer("content", media, "schema")
        self._validate(ref, instance, where, f"{method} {operation.template} {key}")

    @staticmethod
    def _response_key(operation: Operation, status: int) -> str | None:
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in operation.responses:
                return key
        return None

    def _validate(self, ref: str, instance: Any, where: str, label: str) -> None:
        error = best_match(self._validator(ref).iter_errors(instance))
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            shown = json.dumps(instance)[:1000]
            raise AssertionError(
                f"{where}: the response does not match our OpenAPI ({label}) at {at}: {error.message}\nbody: {shown}"
            )
        with self._lock:
            self.validated[label] += 1

    def _skip(self, reason: str) -> None:
        with self._lock:
            self.skipped[reason] += 1

    def summary(self) -> str:
        """What was validated and skipped, one line each."""
        total = sum(self.validated.values())
        lines = [f"openapi check: {total} responses validated, {sum(self.skipped.values())} skipped"]
        lines += [f"  {n:6d}  {label}" for label, n in sorted(self.validated.items())]
        lines += [f"  {n:6d}  skipped: {reason}" for reason, n in sorted(self.skipped.items())]
        return "\n".join(lines)


CHECKERS: list[OpenAPIChecker] = []


class _Request(Protocol):
    method: str

    @property
    def url(self) -> Any: ...


class _Response(Protocol):
    status_code: int

    @property
    def request(self) -> _Request: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def read(self) -> bytes: ...


class _Client(Protocol):
    event_hooks: dict[str, list[Callable[..., Any]]]


class _App(Protocol):
    def openapi(self) -> dict[str, Any]: ...


def attach(client: _Client, app: _App) -> OpenAPIChecker:
    """Validate every response `client` (a TestClient; httpx event hooks) receives against `app.openapi()`.

    A mismatch raises AssertionError out of the request call, so it fails the test that made it."""
    checker = OpenAPIChecker(app.openapi())
    CHECKERS.append(checker)

    def on_response(response: _Response) -> None:
        body = response.read()
        checker.check(
            response.request.method,
            response.request.url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            body,
        )

    client.event_hooks = {**client.event_hooks, "response": [*client.event_hooks["response"], on_response]}
    return checker


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """With `-p openapi_check` (tests/ on PYTHONPATH): print how many responses were validated."""
    for checker in CHECKERS:
        terminalreporter.write_line(checker.summary())
