"""What every ``nuanxin`` command shares: the click group, ``--crs``/``--json``, JSON output,
and the configured store.

The command modules (``core``, ``candidates``, ``planning``, ``web``) import from here and
:mod:`webmap.cli` imports them at its top, so the package has no import cycle.

User errors (:class:`stations.errors.NuanxinError`) print one line on stderr and exit 2; no
traceback.
"""

from __future__ import annotations

import json

import click

from stations.errors import NuanxinError

__all__ = ["main", "emit_json", "fail", "crs_option", "json_option", "ready_store"]


class _Group(click.Group):
    """A click group that turns domain errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NuanxinError as exc:
            click.echo(f"错误 (error): {exc}", err=True)
            ctx.exit(2)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            click.echo(f"错误 (error): {exc.strerror}: {exc.filename}", err=True)
            ctx.exit(2)


#: ``--crs``: the datum of coordinates given on the command line or in a file.
crs_option = click.option(
    "--crs", default="wgs84", show_default=True,
    help="坐标系 (datum of the coordinates): wgs84 | gcj02 | bd09")

#: ``--json``: print the machine-readable answer (INTERFACE.md keys).
json_option = click.option("--json", "as_json", is_flag=True, help="输出 JSON (print JSON)")


def emit_json(data: object) -> None:
    """Print JSON (UTF-8, Chinese kept readable) to stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str) -> None:
    """Stop with a user error (exit 2)."""
    raise NuanxinError(message)


def ready_store(*, reset: bool = False):
    """The configured store (``NUANXIN_DATABASE_URL``) with its tables created; a database
    that cannot be reached is a user error naming it (password hidden)."""
    from stations.store import Store

    return Store().prepare(reset=reset)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nuanxin")
def main() -> None:
    """暖心驿站 Nuanxin — 户外劳动者服务站点的查找、筛选与规划。"""
