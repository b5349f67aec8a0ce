"""The `wholesale` command: serve, worker, migrate, partners, tokens, demo."""

import os
import signal
import subprocess
import sys
import threading
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from wholesale.compliance.cli import lists_app, screen
from wholesale.config import Settings, get_settings
from wholesale.dialin.cli import telephony_app
from wholesale.subscribers.cli import subscribers_app


class _PlainErrorsOffTerminal(TyperGroup):
    """Usage errors in Rich's box on a terminal, as plain `Error: ...` lines otherwise.

    Rich wraps the box to the console width, which splits a message across lines in logs, pipes and tests
    (COLUMNS=80, no terminal); a plain line keeps every message whole and greppable.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        self.rich_markup_mode = "rich" if sys.stderr.isatty() else None
        return super().main(*args, **kwargs)


app = typer.Typer(
    cls=_PlainErrorsOffTerminal,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Wholesale route-to-market provisioning.",
)
partners_app = typer.Typer(no_args_is_help=True, help="Manage partners.")
tokens_app = typer.Typer(no_args_is_help=True, help="Issue API tokens.")
users_app = typer.Typer(no_args_is_help=True, help="Portal accounts (email and password).")
app.add_typer(partners_app, name="partners")
app.add_typer(tokens_app, name="tokens")
app.add_typer(users_app, name="users")
app.add_typer(lists_app, name="lists")
app.command("screen")(screen)
app.add_typer(telephony_app, name="telephony")
app.add_typer(subscribers_app, name="subscribers")
ledger_app = typer.Typer(no_args_is_help=True, help="The usage ledger billing reports are made from (R2).")
app.add_typer(ledger_app, name="ledger")

# soft_wrap: a message is never broken to the console width (it stays one line in logs and in tests).
err = Console(stderr=True, soft_wrap=True, highlight=False)


# Long-running processes name their own actors (each request its caller, each job itself).
_SERVERS = ("serve", "worker")


@app.callback()
def _as_cli_actor(ctx: typer.Context) -> None:
    # What a command writes is audited as `cli:<command>` (role cli), with a tracking id of its own.
    from wholesale.kit import ids
    from wholesale.kit.context import set_actor, set_tracking_id

    if ctx.invoked_subcommand and ctx.invoked_subcommand not in _SERVERS:
        set_actor(f"cli:{ctx.invoked_subcommand}", role="cli")
        set_tracking_id(ids.new_tracking_id())


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(1)


def _migrate(settings: Settings) -> None:
    """Bring the database to the latest schema and make sure the platform's own org (operators, reviewers) exists."""
    from wholesale.db.session import get_database
    from wholesale.identity.service import ensure_platform_org
    from wholesale.migrate import migrate as run

    run(settings)
    with get_database(settings).transaction() as session:
        ensure_platform_org(session)


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema (ours and the job engine's); create the platform's own org."""
    _migrate(get_settings())
    err.print("database is at the latest schema")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Serve the API only; run `wholesale worker` elsewhere.")
    ] = False,
    http_workers: Annotated[int, typer.Option(help="uvicorn worker processes (PostgreSQL only).")] = 1,
    worker_process: Annotated[
        bool,
        typer.Option(
            "--worker-process",
            help="Run the job workers in a second process (`wholesale worker`, started and stopped with this one), "
            "so one box uses two cores.",
        ),
    ] = False,
) -> None:
    """Serve the API and portal, with in-process job workers unless --no-workers or --worker-process."""
    import uvicorn

    # Links made outside a request (the consent email) point here unless WHOLESALE_PUBLIC_BASE_URL says otherwise.
    os.environ["WHOLESALE_SERVE_BASE_URL"] = _origin(host, port)
    get_settings.cache_clear()
    settings = get_settings()
    if settings.is_sqlite:
        _migrate(settings)
    if http_workers > 1 and (settings.is_sqlite or not no_workers):
        _fail("--http-workers > 1 needs PostgreSQL and --no-workers (run `wholesale worker` for jobs).")
    if worker_process and no_workers:
        _fail("--worker-process and --no-workers exclude each other.")
    os.environ["WHOLESALE_SERVE_WORKERS"] = "0" if no_workers or worker_process else "1"
    child = _WorkerProcess() if worker_process else None
    try:
        uvicorn.run(
            "wholesale.cli:asgi_app",
            factory=True,
            host=host,
            port=port,
            workers=http_workers,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # the app trusts X-Forwarded-* itself, from WHOLESALE_FORWARDED_ALLOW_IPS only
            timeout_graceful_shutdown=5,
        )
    finally:
        if child is not None:
            child.stop()


class _WorkerProcess:
    """`wholesale worker` as a child of `serve`, with this process's settings (and executor id, so it recovers
    what in-process workers left); started again if it dies, stopped with `serve`."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.proc = self._spawn()
        threading.Thread(target=self._watch, name="worker-process", daemon=True).start()

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "wholesale.cli", "worker"], env=os.environ.copy())

    def _watch(self) -> None:
        while not self.stopping.is_set():
            code = self.proc.wait()
            if self.stopping.wait(1.0):
                return
            err.print(f"worker process exited with {code}; starting it again")
            self.proc = self._spawn()

    def stop(self) -> None:
        self.stopping.set()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _origin(host: str, port: int) -> str:
    """The http origin of a listening address (a wildcard address is reached on loopback)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def asgi_app():
    """Build the app for uvicorn (a factory, so each uvicorn worker builds its own)."""
    from wholesale.app import create_app

    return create_app(workers=os.environ.get("WHOLESALE_SERVE_WORKERS", "1") == "1")


@app.command()
def worker(
    metrics_port: Annotated[int | None, typer.Option(help="Serve this worker's /metrics on this port.")] = None,
) -> None:
    """Run background jobs only (start several on PostgreSQL, each with its own WHOLESALE_EXECUTOR_ID)."""
    from wholesale import workers as job_workers
    from wholesale.app import install_clock
    from wholesale.jobs import runtime
    from wholesale.kit.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    install_clock(settings)
    if settings.worker_nice:
        # Jobs yield the CPU to API processes on the same machine (a caller waits on those; a job's latency is ours
        # to spend); with cores of its own a worker runs as fast as ever. docs/SCALING.md has it measured.
        os.nice(settings.worker_nice)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    job_workers.launch(settings)  # every workflow module and schedule, as `serve` launches them
    err.print(f"worker {settings.executor_id} running; Ctrl-C to stop")
    stop.wait()
    runtime.shutdown()


@partners_app.command("create")
def partners_create(
    name: str,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent partner org id (makes a sub-partner).")] = None,
) -> None:
    """Create a partner; prints its org id and nothing else."""
    from wholesale.db.session import get_database
    from wholesale.kit.errors import DomainError
    from wholesale.partners.service import create_partner

    try:
        with get_database().transaction() as session:
            partner = create_partner(session, name=name, parent_org_id=parent)
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(partner.org_id)


@ledger_app.command("verify")
def ledger_verify(
    partner: Annotated[str | None, typer.Option("--partner", help="Check one partner's chain only.")] = None,
) -> None:
    """Recompute every row's hash and link; name each changed, removed or inserted row (exit 1 if any)."""
    from wholesale.db.session import get_database
    from wholesale.ledger.service import verify

    with get_database().session(write=False) as session:
        checked, problems = verify(session, partner)
    for problem in problems:
        err.print(f"[red]ledger:[/red] {escape(str(problem))}")
    print(f"{checked} rows checked, {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


@tokens_app.command("revoke")
def tokens_revoke(token: Annotated[str, typer.Argument(help="The token, as `tokens create` printed it.")]) -> None:
    """Revoke a token (every process stops accepting it within WHOLESALE_TOKEN_CACHE_SECONDS)."""
    from wholesale.db.session import get_database
    from wholesale.identity.service import revoke_token
    from wholesale.kit.errors import DomainError

    try:
        with get_database().transaction() as session:
            revoke_token(session, token)
    except DomainError as exc:
        _fail(exc.message)
    err.print("revoked")


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option("--role", help="partner-admin | reviewer | operator | customer-admin")],
    org: Annotated[
        str | None,
        typer.Option("--org", help="Org id the token acts for; operator and reviewer default to the platform's own."),
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Scope (repeat); default: the role's scopes.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="A note on what the token is for.")] = None,
) -> None:
    """Issue a token; prints the token and nothing else."""
    from wholesale.db.session import get_database
    from wholesale.identity.service import create_token, ensure_platform_org
    from wholesale.kit.errors import DomainError

    role_value, org_id = _role_and_org(role, org, "token")
    try:
        with get_database().transaction() as session:
            org_id = org_id or ensure_platform_org(session).id
            token = create_token(session, org_id=org_id, role=role_value, scopes=scope, label=label)
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(token)


def _role_and_org(role: str, org: str | None, what: str = "account") -> tuple[Any, str | None]:
    """The role named, and the org: given, or the platform's own for operators and reviewers (None: look it up)."""
    from wholesale.identity.roles import ROLE_ORG_KIND, Role

    try:
        role_value = Role(role)
    except ValueError:
        _fail(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}")
    kind = ROLE_ORG_KIND[role_value]
    if org is None and kind != "platform":
        _fail(f"a {role_value} {what} needs --org (the id of the {kind} org it acts for)")
    return role_value, org


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The person's email; it is their sign-in name.")],
    role: Annotated[str, typer.Option("--role", help="partner-admin | reviewer | operator | customer-admin")],
    org: Annotated[
        str | None,
        typer.Option("--org", help="Org id the account acts for; operator and reviewer default to the platform's own."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password (12+ characters) from stdin.")
    ] = False,
) -> None:
    """Create a portal account; prints the password (generated unless --password-stdin) and nothing else."""
    from wholesale.db.session import get_database
    from wholesale.identity import accounts
    from wholesale.identity.service import ensure_platform_org
    from wholesale.kit.errors import DomainError

    role_value, org_id = _role_and_org(role, org)
    given = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        with get_database().transaction() as session:
            password = accounts.create_user(
                session, org_id=org_id or ensure_platform_org(session).id, email=email, role=role_value, password=given
            )
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(password)


@users_app.command("list")
def users_list(org: Annotated[str | None, typer.Option("--org", help="Only this org's accounts.")] = None) -> None:
    """List portal accounts: email, role, org, state, last sign-in."""
    from wholesale.db.session import get_database
    from wholesale.identity import accounts
    from wholesale.kit import clock

    with get_database().session(write=False) as session:
        users = accounts.list_users(session, org)
    for user in users:
        state = (
            "disabled"
            if user.disabled_at
            else "locked"
            if user.locked_until and user.locked_until > clock.now()
            else "active"
        )
        last = clock.isoformat(user.last_signed_in) if user.last_signed_in else "never"
        typer.echo(f"{user.email}\t{user.role}\t{user.org_id}\t{state}\t{last}")


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Disable an account; its portal sessions end at once."""
    from wholesale.db.session import get_database
    from wholesale.identity import accounts
    from wholesale.kit.errors import DomainError

    try:
        with get_database().transaction() as session:
            accounts.disable_user(session, email)
    except DomainError as exc:
        _fail(exc.message)
    err.print("disabled")


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Argument(help="The account's email.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from stdin.")] = False,
) -> None:
    """Give an account a new password (printed unless --password-stdin); unlocks it and ends its sessions."""
    from wholesale.db.session import get_database
    from wholesale.identity import accounts
    from wholesale.kit.errors import DomainError

    given = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        with get_database().transaction() as session:
            password = accounts.reset_password(session, email, given)
    except DomainError as exc:
        _fail(exc.message)
    if not password_stdin:
        typer.echo(password)


@app.command()
def demo() -> None:
    """Seed a demo partner, a sub-partner and tokens (idempotent); print tokens and URLs."""
    from wholesale.demo import seed

    result = seed()
    typer.echo("wholesale demo")
    for key, value in result.items():
        typer.echo(f"  {key}: {value}")


def main() -> None:
    """Entry point."""
    app()


if __name__ == "__main__":
    main()
