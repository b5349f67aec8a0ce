"""`wholesale subscribers import`: provision subscribers from a CSV, resumably, with per-row results next to the file."""

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

subscribers_app = typer.Typer(no_args_is_help=True, help="Manage subscribers.")
# soft_wrap: a message is never broken to the console width (it stays one line in logs and in tests).
err = Console(stderr=True, soft_wrap=True, highlight=False)

COLUMNS = ("email", "firstName", "lastName", "package", "primaryPhoneNumber", "extension")
RESULT_COLUMNS = ("row", "email", "status", "subscriberId", "error")
DONE = frozenset({"provisioned", "pending_user_migration"})
BATCH = 250


def results_path(file: Path) -> Path:
    """Where the per-row results of an import go: next to the input."""
    return file.with_name(file.stem + ".results.csv")


def read_rows(file: Path) -> list[dict[str, str]]:
    """Read the CSV; refuse a header without the required columns."""
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("email", "package") if c not in (reader.fieldnames or [])]
        if missing:
            raise typer.BadParameter(f"{file}: header lacks {', '.join(missing)} (expected {','.join(COLUMNS)})")
        return [{k: (v or "").strip() for k, v in row.items() if k in COLUMNS} for row in reader]


def done_rows(path: Path) -> dict[int, dict[str, str]]:
    """Rows an earlier run finished (resuming skips them); failed rows are tried again."""
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {int(r["row"]): r for r in csv.DictReader(handle) if r.get("status") in DONE}


def _flat(result: dict) -> dict[str, str]:
    errors = result.get("errors") or []
    return {
        "row": str(result["row"]),
        "email": result.get("email", ""),
        "status": result["status"],
        "subscriberId": result.get("subscriberId") or "",
        "error": "; ".join(e["description"] for e in errors),
    }


def run_import(
    customer_id: str, file: Path, *, validate_only: bool = False, progress: bool = True
) -> tuple[int, int, int]:
    """Import (or only check) every row; return (done now, skipped as already done, failed)."""
    from wholesale.db.session import get_database
    from wholesale.kit.context import set_actor
    from wholesale.subscribers import bulk, repository

    set_actor("cli:subscribers.import", role="cli")
    rows = read_rows(file)
    out = results_path(file)
    previous = {} if validate_only else done_rows(out)
    results: dict[int, dict[str, str]] = dict(previous)
    todo = [(i + 1, row) for i, row in enumerate(rows) if i + 1 not in previous]
    database = get_database()
    ok = failed = 0
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, disable=not progress) as bar:
        task = bar.add_task("checking" if validate_only else "importing", total=len(rows), completed=len(previous))
        if validate_only:
            # One transaction that is rolled back: every rule (caps included, row after row) runs, nothing is written.
            session = database.session(write=True)
            try:
                customer = bulk.customer_for_import(session, customer_id)
                packages = repository.package_rows(session, customer.id)
                for start in range(0, len(todo), BATCH):
                    batch = todo[start : start + BATCH]
                    for result in bulk.import_chunk(session, customer, batch, packages):
                        results[result["row"]] = _flat(result)
                        ok, failed = (ok + 1, failed) if result["status"] != "error" else (ok, failed + 1)
                    bar.advance(task, len(batch))
            finally:
                session.rollback()
                session.close()
        else:
            with database.transaction() as session:
                bulk.customer_for_import(session, customer_id)
            for start in range(0, len(todo), BATCH):
                batch = todo[start : start + BATCH]
                with database.transaction() as session:
                    customer = bulk.customer_for_import(session, customer_id)
                    packages = repository.package_rows(session, customer.id)
                    batch_results = bulk.import_chunk(session, customer, batch, packages)
                # Written after the commit: a crash in between re-runs the batch, whose rows are then found done.
                for result in batch_results:
                    results[result["row"]] = _flat(result)
                    ok, failed = (ok + 1, failed) if result["status"] != "error" else (ok, failed + 1)
                _write(out, results)
                bar.advance(task, len(batch))
    if validate_only:
        for number in sorted(results):
            if results[number]["status"] == "error":
                err.print(escape(f"row {number} ({results[number]['email']}): {results[number]['error']}"))
    else:
        _write(out, results)
    return ok, len(previous), failed


def _write(path: Path, results: dict[int, dict[str, str]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        for number in sorted(results):
            writer.writerow(results[number])
    tmp.replace(path)


@subscribers_app.command("import")
def import_command(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with header email,firstName,lastName,package,primaryPhoneNumber,extension.",
            exists=True,
            dir_okay=False,
        ),
    ],
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check every row; write nothing.")] = False,
) -> None:
    """Provision subscribers from a CSV; results go to FILE.results.csv, and a re-run skips rows already done."""
    from wholesale.kit.errors import DomainError

    try:
        ok, skipped, failed = run_import(customer_id, file, validate_only=validate_only, progress=err.is_terminal)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    verb = "valid" if validate_only else "done"
    where = "" if validate_only else f"; results in {results_path(file)}"
    err.print(escape(f"{ok} {verb}, {skipped} already done, {failed} failed{where}"))
    if failed:
        raise typer.Exit(2)


@subscribers_app.command("free-account")
def free_account_command(email: Annotated[str, typer.Argument(help="The free account's email.")]) -> None:
    """Create an active free (consumer) account, to try the pending_user_migration consent flow (demo)."""
    from wholesale.db.session import get_database
    from wholesale.kit.errors import DomainError
    from wholesale.subscribers.service import create_free_account

    try:
        with get_database().transaction() as session:
            user = create_free_account(session, email)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    typer.echo(user.id)
