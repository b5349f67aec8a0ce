"""`wholesale telephony`: load and show the operator's telephony domain (R18)."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

telephony_app = typer.Typer(no_args_is_help=True, help="Manage the telephony domain (call-in numbers).")
# soft_wrap: a message is never broken to the console width (it stays one line in logs and in tests).
err = Console(stderr=True, soft_wrap=True, highlight=False)


@telephony_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="CSV with header country,number,label,tollType,available.")],
) -> None:
    """Replace the telephony domain atomically from a CSV file; a bad file changes nothing."""
    from wholesale.db.session import get_database
    from wholesale.dialin import service
    from wholesale.dialin.telephony import TelephonyFileError, parse_telephony_csv

    try:
        data = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]error:[/red] {escape(f'cannot read {file}: {exc.strerror}')}")
        raise typer.Exit(1) from None
    try:
        numbers = parse_telephony_csv(data)
    except TelephonyFileError as exc:
        err.print(f"[red]error:[/red] {escape(str(file))} refused; the old telephony domain stays in force:")
        for line in exc.errors:
            # Plain print: Rich markup would eat "[...]" in operator data.
            print(f"{file}: {line}", file=sys.stderr)
        raise typer.Exit(1) from None
    with get_database().transaction() as session:
        job = service.replace_domain(session, numbers)
    err.print(escape(f"loaded {len(numbers)} call-in numbers; sites are re-derived by job {job}"))


@telephony_app.command("show")
def show() -> None:
    """Show the telephony domain in order."""
    from wholesale.db.session import get_database
    from wholesale.dialin import service

    with get_database().session(write=False) as session:
        numbers = service.current_numbers(session)
    table = Table(title=f"Telephony domain ({len(numbers)} numbers)")
    for column in ("#", "country", "number", "label", "tollType", "available"):
        table.add_column(column)
    for n in numbers:
        table.add_row(
            str(n.order), n.country, n.number, n.label, n.toll_type, "yes" if n.available else "[red]no[/red]"
        )
    Console(width=160).print(table)
