"""Checks that stop at the first problem (as the API answers) or note every problem and go on (as a form shows them).

A rule module runs each independent check in `with checks:`; `checks.done()` then raises what was noted: the one
problem itself, or `Problems` listing all of them. Without `every_problem` the first failure propagates at once,
so the API's answers do not change."""

from types import TracebackType

from wholesale.kit.errors import BadRequest, DomainError

# What a form can fix: a broken rule (400) or a clash with what exists (409). Anything else still stops at once.
_FIXABLE = (400, 409)


class Problems(BadRequest):
    """Several problems of one request found together; `found` lists them in the order the rules ran."""

    def __init__(self, found: list[DomainError]):
        super().__init__(found[0].message, errors=[e for p in found for e in p.errors])
        self.found = found


class Checks:
    """A context manager to reuse for each check: `with checks: ...`; then `checks.done()`."""

    def __init__(self, every_problem: bool = False):
        self.every_problem = every_problem
        self.found: list[DomainError] = []

    def __enter__(self) -> "Checks":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if self.every_problem and isinstance(exc, DomainError) and exc.status_code in _FIXABLE:
            self.found.extend(exc.found if isinstance(exc, Problems) else [exc])
            return True  # noted: go on with the next check
        return False

    @property
    def failed(self) -> bool:
        return bool(self.found)

    def done(self) -> None:
        """Raise what was noted: the single problem as it is, several as Problems."""
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise Problems(self.found)
