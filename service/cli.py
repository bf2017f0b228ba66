"""The `inspection-week` command: serve, migrate, API keys, working days, frameworks, plans."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from service import api_keys, frameworks, migrate
from service.calendar.working_days import WorkingDayError, load_calendar
from service.config import Settings, SettingsError, load_settings
from service.db import SQLiteInUse, hold_sqlite_file, is_sqlite, make_engine, utcnow
from service.errors import DomainError, InvalidInput
from service.first_start import create_admin_key_once, create_admin_user_once
from service.improvement import service as improvement
from service.plan import definitions as plan_templates

app = typer.Typer(
    help="inspection-week: the notification call to a running inspection plan in one action.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="API keys for the council intranet.", no_args_is_help=True)
days_app = typer.Typer(
    help="Working-day arithmetic (bank holidays and closure days).", no_args_is_help=True
)
frameworks_app = typer.Typer(help="Inspection frameworks.", no_args_is_help=True)
app.add_typer(keys_app, name="api-keys")
app.add_typer(days_app, name="working-days")
app.add_typer(frameworks_app, name="frameworks")
contacts_app = typer.Typer(help="Contacts and the communication tree.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")
plans_app = typer.Typer(
    help="Plan definitions: the tasks each framework starts.", no_args_is_help=True
)
app.add_typer(plans_app, name="plans")
users_app = typer.Typer(help="Staff who sign in to the web pages.", no_args_is_help=True)
app.add_typer(users_app, name="users")

CLI_ACTOR = "cli"


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"inspection-week: {message}", err=True)
    return typer.Exit(code)


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise fail(str(exc)) from exc


def current_revision(engine: Engine) -> str | None:
    """The schema's revision; the first thing every database command asks, so an unreachable
    database ends here with a clear message instead of a traceback."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise fail(f"cannot reach the database at {where}: {reason}", code=1) from exc


def ready_engine(settings: Settings) -> Engine:
    """An engine on a schema at head: the embedded SQLite file migrates itself; PostgreSQL is
    migrated on purpose, with `inspection-week migrate`, once per release."""
    engine = make_engine(settings.database_url)
    head = migrate.heads()[0]
    if current_revision(engine) != head:
        if not is_sqlite(engine):
            raise fail("the database schema is not up to date: run `inspection-week migrate` first")
        migrate.upgrade(engine)
    return engine


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [PORT].")] = None,
) -> None:
    """Run the web service (and, unless SCHEDULER_ENABLED=false, the scheduler tick)."""
    import uvicorn

    from service.main import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings_or_exit(**overrides)
    try:
        held = hold_sqlite_file(settings.database_url)  # noqa: F841 -- kept while serving
    except SQLiteInUse as exc:
        raise fail(str(exc)) from exc
    try:
        engine = ready_engine(settings)
        application = create_app(settings, engine)
    except (frameworks.FrameworkError, plan_templates.PlanDefinitionError) as exc:
        raise fail(str(exc)) from exc
    if is_sqlite(engine):
        admin_key = create_admin_key_once(engine, now=utcnow())
        if admin_key is not None:
            typer.echo(
                "First start: created the admin API key (shown once; send it as "
                "`Authorization: Bearer <key>`):\n" + admin_key,
                err=True,
            )
        admin_password = create_admin_user_once(engine, now=utcnow())
        if admin_password is not None:
            typer.echo(
                "First start: created the user `admin` for the web pages with a one-time "
                "password (shown once; the first sign-in asks for a new one):\n" + admin_password,
                err=True,
            )
    typer.echo(f"inspection-week listening on http://{settings.host}:{settings.port}", err=True)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        # Client address and scheme from X-Forwarded-For/-Proto, from these proxies only.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@app.command("migrate")
def migrate_command() -> None:
    """Bring the database schema to the latest migration."""
    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    migrate.upgrade(engine)
    after = current_revision(engine)
    typer.echo(f"database at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. intranet.")],
    scope: Annotated[
        list[str], typer.Option(help=f"Repeat for each scope: {', '.join(api_keys.SCOPES)}.")
    ],
) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        try:
            key, raw = api_keys.create(
                session, name=name, scopes=scope, actor=CLI_ACTOR, now=utcnow()
            )
        except InvalidInput as exc:
            option = "scope" if exc.field == "scopes" else exc.field
            raise fail(f"--{option}: {exc.message}") from exc
        except DomainError as exc:
            raise fail(exc.message) from exc
        session.commit()
    typer.echo(f"Created API key {name!r} with scopes {', '.join(key.scopes)}. It is shown once:")
    typer.echo(raw)


@keys_app.command("list")
def list_keys() -> None:
    """List API keys (never the keys themselves): name, prefix, scopes, last used, state."""
    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        for key in api_keys.list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"used {key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
            typer.echo(f"{key.name}\t{key.key_prefix}…\t{','.join(key.scopes)}\t{used}\t{state}")


@keys_app.command("revoke")
def revoke_key(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke an API key at once (not the last key with the admin scope)."""
    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        try:
            api_keys.revoke(session, name=name, actor=CLI_ACTOR, now=utcnow())
        except DomainError as exc:
            raise fail(exc.message) from exc
        session.commit()
    typer.echo(f"Revoked API key {name!r}.")


def _parse_date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{what}: {value!r} is not a date in the form YYYY-MM-DD") from exc


# Unknown options are taken as arguments, so that a negative N (`-3`) is a number, not an option.
@days_app.command("add", context_settings={"ignore_unknown_options": True})
def add_days(
    start: Annotated[str, typer.Argument(metavar="YYYY-MM-DD", help="The date to count from.")],
    days: Annotated[int, typer.Argument(metavar="N", help="Working days; negative counts back.")],
) -> None:
    """Print the N-th working day after the date (before it when N is negative)."""
    day = _parse_date(start, "date")
    settings = settings_or_exit()
    engine = ready_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        calendar = load_calendar(session, settings.bank_holiday_region)
    try:
        typer.echo(calendar.add_working_days(day, days).isoformat())
    except WorkingDayError as exc:
        raise fail(f"N: {exc}") from exc


@days_app.command("between")
def days_between(
    start: Annotated[str, typer.Argument(metavar="FROM")],
    end: Annotated[str, typer.Argument(metavar="TO")],
) -> None:
    """Print how many working days come after FROM up to and including TO."""
    first, last = _parse_date(start, "FROM"), _parse_date(end, "TO")
    settings = settings_or_exit()
    engine = ready_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        calendar = load_calendar(session, settings.bank_holiday_region)
    typer.echo(str(calendar.working_days_between(first, last)))


@frameworks_app.command("list")
def list_frameworks() -> None:
    """List the frameworks (shipped and FRAMEWORKS_DIR), checking every file."""
    settings = settings_or_exit()
    try:
        found = frameworks.load_all(settings.frameworks_dir)
        improvement.check_frameworks(frameworks.Registry(found))
    except frameworks.FrameworkError as exc:
        raise fail(str(exc)) from exc
    for key, framework in sorted(found.items()):
        typer.echo(f"{key}\t{framework.normal_on_site_days} on-site days\t{framework.name}")


def _frameworks_or_exit(settings: Settings) -> frameworks.Registry:
    try:
        registry = frameworks.Registry(frameworks.load_all(settings.frameworks_dir))
        improvement.check_frameworks(registry)
        return registry
    except frameworks.FrameworkError as exc:
        raise fail(str(exc)) from exc


@plans_app.command("list")
def list_plans() -> None:
    """List each framework's plan (shipped or PLANS_DIR) with its tasks and roles, checking every
    file; a framework without a plan starts no tasks."""
    settings = settings_or_exit()
    registry = _frameworks_or_exit(settings)
    try:
        plans = plan_templates.load_all(registry, settings.plans_dir)
    except plan_templates.PlanDefinitionError as exc:
        raise fail(str(exc)) from exc
    for framework in registry.all():
        key, plan = framework.key, plans.get(framework.key)
        if plan is None:
            typer.echo(f"{key}\t0 tasks\t0 roles\tno plan")
            continue
        roles = ",".join(role.key for role in plan.roles)
        typer.echo(f"{key}\t{len(plan.tasks)} tasks\t{len(plan.roles)} roles\t{plan.name}\t{roles}")


@plans_app.command("check")
def check_plans(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            exists=True, dir_okay=False, help="Plan files; none: the shipped ones and PLANS_DIR."
        ),
    ] = None,
) -> None:
    """Check plan files against the frameworks (FRAMEWORKS_DIR included) before putting them in
    PLANS_DIR: each problem as FILE: field: message on stderr, exit 1 if there is any."""
    settings = settings_or_exit()
    registry = _frameworks_or_exit(settings)
    paths = list(files or [])
    if not paths:
        paths = sorted(plan_templates.SHIPPED_DIR.glob("*.yaml"))
        paths = [path for path in paths if registry.get(path.stem) is not None]
        if settings.plans_dir is not None:
            if not settings.plans_dir.is_dir():
                raise fail(f"{settings.plans_dir}: PLANS_DIR is not a folder", code=1)
            paths += sorted(settings.plans_dir.glob("*.yaml"))
    bad = 0
    for path in paths:
        try:
            plan = plan_templates.load_file(path, registry)
        except plan_templates.PlanDefinitionError as exc:
            bad += 1
            typer.echo(str(exc), err=True)
            continue
        counts = f"{len(plan.tasks)} tasks, {len(plan.roles)} roles"
        typer.echo(f"{path}: ok ({plan.framework}, {counts})")
    if bad:
        raise typer.Exit(1)


@contacts_app.command("import")
def import_contacts(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or .xlsx.")],
    dry_run: Annotated[bool, typer.Option(help="Check and count; write nothing.")] = False,
    replace: Annotated[
        bool, typer.Option(help="The file is the whole tree: deactivate everyone not in it.")
    ] = False,
) -> None:
    """Import contacts, all or nothing: counts on success; every problem as FILE:LINE on failure."""
    from service.contacts import importer

    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        try:
            counts = importer.import_contacts(
                session,
                file.read_bytes(),
                filename=file.name,
                actor=CLI_ACTOR,
                now=utcnow(),
                dry_run=dry_run,
                replace=replace,
            )
        except importer.ImportRejected as exc:
            for e in exc.errors:
                typer.echo(
                    f"{file}:{e.line}: " + (f"{e.column}: " if e.column else "") + e.message,
                    err=True,
                )
            if exc.more:
                typer.echo(f"{file}: and {exc.more} more problems", err=True)
            raise typer.Exit(1) from exc
        session.commit()
    summary = ", ".join(f"{name} {n}" for name, n in counts.as_dict().items())
    typer.echo(summary + (" (dry run: nothing written)" if dry_run else ""))


@contacts_app.command("export")
def export_contacts(
    format: Annotated[Literal["csv", "xlsx"], typer.Option(help="csv or xlsx.")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Export every active contact in the import's columns (re-importing it changes nothing)."""
    from service import spreadsheet
    from service.contacts.service import COLUMNS, export_rows

    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        rows = export_rows(session)
    if format == "xlsx":
        content = spreadsheet.write_xlsx("contacts", COLUMNS, rows)
    else:
        content = spreadsheet.write_csv(COLUMNS, rows, bom=output is not None)
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(content)
        typer.echo(f"wrote {len(rows)} contacts to {output}", err=True)


USER_OPTIONS = {"display_name": "name"}
"""The CLI's option for each field the users module names in its errors."""


def _user_error(exc: DomainError) -> typer.Exit:
    if isinstance(exc, InvalidInput):
        problems = getattr(exc, "problems", None) or {exc.field: exc.message}
        for field, message in list(problems.items())[:-1]:
            typer.echo(f"inspection-week: --{USER_OPTIONS.get(field, field)}: {message}", err=True)
        field, message = list(problems.items())[-1]
        return fail(f"--{USER_OPTIONS.get(field, field)}: {message}")
    return fail(exc.message)


def _password_from_stdin() -> str:
    """The whole of standard input less its line ending, so `echo secret | ...` works."""
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise fail("--password-stdin: standard input was empty")
    return password


def _print_one_time(username: str, one_time: str) -> None:
    typer.echo(
        f"One-time password for {username} (shown once; the first sign-in asks for a new one):"
    )
    typer.echo(one_time)


@users_app.command("create")
def create_user(
    username: Annotated[str, typer.Option(help="What they sign in with (case does not matter).")],
    name: Annotated[str, typer.Option(help="Their full name, as the pages show it.")],
    role: Annotated[str, typer.Option(help="admin, lead, coordinator or viewer.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; prints a one-time password unless --password-stdin gives one."""
    from service.users import service as users

    password = _password_from_stdin() if password_stdin else None
    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        try:
            user, one_time = users.create(
                session,
                username=username,
                display_name=name,
                role=role,
                password=password,
                actor=CLI_ACTOR,
                now=utcnow(),
            )
        except DomainError as exc:
            raise _user_error(exc) from exc
        session.commit()
    typer.echo(f"Created user {user.username!r} ({user.role}).")
    if one_time is not None:
        _print_one_time(user.username, one_time)


@users_app.command("list")
def list_users() -> None:
    """List users: username, role, active or not, last sign-in, name."""
    from service.users import service as users

    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        for user in users.list_users(session):
            state = "active" if user.active else "deactivated"
            last = f"{user.last_login_at:%Y-%m-%d %H:%M}Z" if user.last_login_at else "never"
            typer.echo(f"{user.username}\t{user.role}\t{state}\t{last}\t{user.display_name}")


@users_app.command("deactivate")
def deactivate_user(username: Annotated[str, typer.Argument(help="The username.")]) -> None:
    """Deactivate a user and end their sessions at once (the last active admin stays)."""
    from service.users import service as users

    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        try:
            user = users.deactivate(session, username=username, actor=CLI_ACTOR, now=utcnow())
        except DomainError as exc:
            raise _user_error(exc) from exc
        session.commit()
    typer.echo(f"Deactivated user {user.username!r}.")


@users_app.command("set-password")
def set_user_password(
    username: Annotated[str, typer.Argument(help="The username.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Reset a password (a one-time password unless --password-stdin gives one); ends the
    user's sessions."""
    from service.users import service as users

    password = _password_from_stdin() if password_stdin else None
    engine = ready_engine(settings_or_exit())
    with Session(engine, expire_on_commit=False) as session:
        try:
            user, one_time = users.set_password(
                session, username=username, password=password, actor=CLI_ACTOR, now=utcnow()
            )
        except DomainError as exc:
            raise _user_error(exc) from exc
        session.commit()
    typer.echo(f"Set the password of {user.username!r}.")
    if one_time is not None:
        _print_one_time(user.username, one_time)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


@app.command("openapi")
def openapi_command(
    write: Annotated[
        Path | None, typer.Option(help="Write the schema to this file (docs/openapi.json).")
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            help="Compare with this file; exit 1 with what differs if it is not the same."
        ),
    ] = None,
) -> None:
    """The API's OpenAPI schema: printed, written to the published file, or checked against it."""
    from service.api import openapi
    from service.main import create_app

    settings = settings_or_exit()
    current = openapi.text(openapi.build(create_app(settings, make_engine("sqlite://"))))
    if check is not None:
        published = check.read_text(encoding="utf-8") if check.is_file() else ""
        if published != current:
            for line in openapi.differences(published, current):
                typer.echo(line, err=True)
            raise fail(
                f"{check} differs from the app's schema; regenerate: {openapi.REGENERATE}", 1
            )
        typer.echo(f"{check} matches the app's schema")
        return
    if write is not None:
        write.write_text(current, encoding="utf-8")
        typer.echo(f"wrote {write}")
        return
    typer.echo(current, nl=False)
