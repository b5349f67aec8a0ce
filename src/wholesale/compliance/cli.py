"""`wholesale lists load|show` and `wholesale screen`."""

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

lists_app = typer.Typer(no_args_is_help=True, help="Restricted-party lists (operator data).")
# soft_wrap: a message is never broken to the console width (it stays one line in logs and in tests).
err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


@lists_app.command("load")
def load(
    paths: Annotated[list[str], typer.Argument(help="List files or folders (DPL, OFAC SDN/consolidated, CSL).")],
) -> None:
    """Load lists as the new version in force; a bad file is refused whole, the previous version stays."""
    from wholesale.compliance import service
    from wholesale.compliance.screening import ListFormatError
    from wholesale.db.session import get_database

    try:
        with get_database().transaction() as session:
            loaded = service.load_lists(session, paths)
    except (ListFormatError, OSError) as exc:
        err.print(f"[red]refused:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    for v in loaded["versions"]:
        err.print(escape(f"{v['source']}: {v['entryCount']} entries, sha256 {v['sha256'][:12]}"))
    typer.echo(loaded["id"])


@lists_app.command("show")
def show() -> None:
    """Show the list versions in force."""
    from wholesale.compliance import lists
    from wholesale.db.session import get_database

    with get_database().session(write=False) as session:
        active = lists.active_list_set(session)
    table = Table("source", "entries", "sha256", "format", "loaded")
    if active is None:
        out.print("No lists loaded: the shipped default lists (BIS DPL, OFAC SDN) are in force.")
        return
    for v in active.versions:
        table.add_row(v["source"], str(v["entryCount"]), v["sha256"][:16], v.get("format", ""), str(active.loaded_at))
    # A terminal's own width; elsewhere (pipes, logs, tests) wide enough that no cell wraps.
    (out if out.is_terminal else Console(width=160)).print(table)


def screen(
    lists_paths: Annotated[list[str] | None, typer.Option("--lists", help="Screen against these files only.")] = None,
) -> None:
    """Read JSON lines {"id","name","country"?,"city"?,"postalCode"?} on stdin; write results as JSON lines."""
    from wholesale.compliance import lists
    from wholesale.compliance.screening import ListFormatError, screen_jsonl
    from wholesale.db.session import get_database

    try:
        if lists_paths:
            screener = lists.screener_for_paths(lists_paths)
        else:
            with get_database().session(write=False) as session:
                screener = lists.get_screener(session)
        screen_jsonl(sys.stdin, sys.stdout, screener)
    except (ListFormatError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
