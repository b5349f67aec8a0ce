"""DBOS registers steps and workflows by function name: two with one name make it warn and mix up their
checkpoints on recovery. Every decorated function in the package has a name of its own, and every job the
catalog lists is defined exactly once."""

import ast
from collections import Counter
from pathlib import Path

import wholesale

DECORATORS = {"step", "job", "workflow"}


def _decorated() -> list[tuple[str, str]]:
    found = []
    for path in Path(wholesale.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in DECORATORS:
                    found.append((node.name, str(path)))
    return found


def test_every_step_and_workflow_function_has_a_name_of_its_own():
    names = Counter(name for name, _path in _decorated())
    assert len(names) > 10
    assert [name for name, count in names.items() if count > 1] == []


def test_every_job_in_the_catalog_is_defined_once():
    from wholesale import workers  # noqa: F401  (imports every workflow module)
    from wholesale.jobs.catalog import JOBS

    defined = Counter()
    for path in Path(wholesale.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "job" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    defined[first.value] += 1
    assert dict(defined) == dict.fromkeys(JOBS, 1)
