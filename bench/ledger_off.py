"""`wholesale ...` with the usage ledger switched off: the baseline of bench/ledger_cost.py, never for production.

python bench/ledger_off.py serve --port 8123
"""

from wholesale.ledger import service


def _off(*_args: object, **_kwargs: object) -> None:
    """Write nothing: the same request path without its ledger rows."""


service.append = _off  # every writer calls `ledger.append` through the module, so this reaches them all

from wholesale.cli import app  # noqa: E402  (after the switch, so nothing bound the real one first)

if __name__ == "__main__":
    app(prog_name="wholesale")
