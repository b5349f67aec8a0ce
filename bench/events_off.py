"""`wholesale ...` with the partner event rows switched off (audit rows stay): the baseline of bench/events_cost.py,
never for production.

python bench/events_off.py serve --port 8123
"""

from wholesale.events import catalog

catalog.PUBLISHED.clear()  # `events.service.record_many` writes an event only for actions in this table

from wholesale.cli import app  # noqa: E402  (after the switch)

if __name__ == "__main__":
    app(prog_name="wholesale")
