"""Web commands: ``nuanxin serve`` (waitress, never the Flask dev server) and ``nuanxin users``."""

from __future__ import annotations

import sys

import click

from stations import settings
from webmap.cli.base import Number, emit_json, main, ready_store

__all__ = []


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址 (address to listen on; 0.0.0.0 for every interface)")
@click.option("--port", default=5000, show_default=True,
              type=Number(integer=True, minimum=1, maximum=65535),
              help="端口 (port)")
@click.option("--threads", default=8, show_default=True,
              type=Number(integer=True, minimum=1, maximum=64),
              help="工作线程数 (worker threads, per process)")
@click.option("--workers", default=1, show_default=True,
              type=Number(integer=True, minimum=1, maximum=64),
              help="工作进程数 (processes; > 1 runs gunicorn's pre-fork server, each process "
                   "with --threads threads)")
def serve_cmd(host: str, port: int, threads: int, workers: int = 1) -> None:
    """启动网站 (serve the web app with waitress, or gunicorn with --workers > 1).

    Configuration comes from NUANXIN_* variables (see .env.example). Behind a reverse proxy
    that terminates HTTPS, set NUANXIN_ENV=production, NUANXIN_SECRET_KEY and
    NUANXIN_SESSION_COOKIE_SECURE=true. Several processes each keep their own station
    snapshot (in step through the store's version) and, with the default
    NUANXIN_RATELIMIT_STORAGE_URI=memory://, their own rate-limit counts: give them a shared
    one (redis://...) when the per-client limits must hold across processes. README.md
    ("Serving") explains the choice for a given number of cores.
    """
    from webmap.app import create_app

    app = create_app()
    store = app.extensions["nuanxin.store"]
    how = (f"waitress, {threads} threads" if workers == 1
           else f"gunicorn, {workers} processes × {threads} threads")
    click.echo(f"暖心驿站 serving on http://{host}:{port}/  ({how}; tiles: {app.config['TILES']}, "
               f"mode: {app.config['ENV']}, store: {store.shown_url}, "
               f"{store.count_stations()} stations)", err=True)
    from webmap.security import gunicorn_options, waitress_options

    if workers > 1:
        store.dispose()  # each process opens its own app and connections
        _run_gunicorn(create_app, gunicorn_options(app, host=host, port=port, workers=workers,
                                                   threads=threads))
        return
    from waitress import serve

    # NUANXIN_TRUSTED_PROXIES decides whether X-Forwarded-For reaches the app (ProxyFix)
    serve(app, host=host, port=port, threads=threads, ident="nuanxin", **waitress_options(app))


def _run_gunicorn(factory, options: dict) -> None:
    """gunicorn run from Python: every worker process builds its own app with ``factory``."""
    from gunicorn.app.base import BaseApplication

    class Forked(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return factory()

    Forked().run()


@main.group("users")
def users_group() -> None:
    """工会工作台账号 (union dashboard accounts): add, list, passwd, remove."""


def _read_password(password_stdin: bool, *, confirm: bool = True) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("密码 (password)", hide_input=True, confirmation_prompt=confirm)


def _store():
    return ready_store()


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "district", "street", "viewer"]),
              default=None,
              help="admin（全市）/ district（一个区）/ street（一个街道）/ viewer（只读）; "
                   "default: street with --street, district with --district, else admin")
@click.option("--district", default="", help="所属区 (the union's district: 西城区, 西城, 110102)")
@click.option("--street", default="",
              help="所属街道 (the union's street: 广安门外街道, 广外; "
                   "--role street needs --district too)")
@click.option("--password-stdin", is_flag=True,
              help="从标准输入读取密码 (read the password from the first line of stdin)")
def users_add(username: str, role: str | None, district: str, street: str,
              password_stdin: bool) -> None:
    """新建账号 (create an account; the password is prompted for, or read from stdin).

    --district and --street are checked against the gazetteer (unknown places, or a street
    outside the given district, are refused before the password is asked for).
    """
    from stations.errors import ValidationError
    from webmap.users import account_area, add_user

    if role == "street" and street and not district:  # INTERFACE.md: street needs both
        raise ValidationError("街道工会账号需要 --district 和 --street (a street account needs "
                              "--district and --street)")
    account_area(role, district, street)  # a bad place fails before the password prompt
    password = _read_password(password_stdin)
    store = _store()
    try:
        user = add_user(store, username, password, role=role, district=district, street=street)
    finally:
        store.dispose()
    area = " ".join(x for x in (user["district"], user["street"]) if x) or "全市"
    click.echo(f"已创建用户 {user['username']} ({user['role']}: {area})")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def users_list(as_json: bool) -> None:
    """列出账号 (list accounts; no password hashes)."""
    from webmap.users import list_users

    store = _store()
    try:
        rows = list_users(store)
    finally:
        store.dispose()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("还没有账号 (no accounts); create one with `nuanxin users add NAME`")
    for row in rows:
        area = " ".join(x for x in (row["district"], row["street"]) if x)
        shown = settings.shown_time(row["created_at"])
        click.echo(f"{row['username']}\t{row['role']}\t{area}\t{shown}")


@users_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码")
def users_passwd(username: str, password_stdin: bool) -> None:
    """修改密码 (set a new password; logs out the user's other sessions)."""
    from webmap.users import set_password

    password = _read_password(password_stdin)
    store = _store()
    try:
        set_password(store, username, password)
    finally:
        store.dispose()
    click.echo(f"已修改 {username} 的密码")


@users_group.command("remove")
@click.argument("username")
@click.option("--yes", is_flag=True, help="不再确认 (do not ask)")
def users_remove(username: str, yes: bool) -> None:
    """删除账号 (delete an account)."""
    from webmap.users import remove_user

    if not yes:
        click.confirm(f"删除用户 {username}?", abort=True)
    store = _store()
    try:
        remove_user(store, username)
    finally:
        store.dispose()
    click.echo(f"已删除用户 {username}")
