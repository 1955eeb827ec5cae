"""What every ``nuanxin`` command shares: the click group, ``--crs``/``--json``, JSON output,
and the configured store.

The command modules (``core``, ``candidates``, ``planning``, ``web``) import from here and
:mod:`webmap.cli` imports them at its top, so the package has no import cycle.

User errors (:class:`stations.errors.NuanxinError`) print one line on stderr and exit 2; no
traceback. So do bad option values (click's ``BadParameter``), without click's usage box.

Numbers on the command line are read by one type, :class:`Number` (:func:`parse_number`):
ASCII digits only (``float``/``int`` would also take full-width and other scripts' digits),
at most :data:`NUMBER_MAX_CHARS` characters (no 4,300-digit integers), finite, and within the
bounds the option states; anything else is one line naming the option.
"""

from __future__ import annotations

import json
import math

import click

from stations.errors import NuanxinError, ValidationError

__all__ = ["main", "emit_json", "fail", "crs_option", "json_option", "ready_store",
           "NUMBER_MAX_CHARS", "Number", "parse_number"]

#: The longest number text the CLI reads (a coordinate with 15 decimals is about 20).
NUMBER_MAX_CHARS = 30


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
        except click.BadParameter as exc:  # a bad value of a click type (Choice...): one line
            click.echo(f"错误 (error): {exc.format_message()}", err=True)
            ctx.exit(2)


#: ``--crs``: the datum of coordinates given on the command line or in a file.
crs_option = click.option(
    "--crs", default="wgs84", show_default=True,
    help="坐标系 (datum of the coordinates): wgs84 | gcj02 | bd09")

#: ``--json``: print the machine-readable answer (INTERFACE.md keys).
json_option = click.option("--json", "as_json", is_flag=True, help="输出 JSON (print JSON)")


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short when long."""
    return repr(text if len(text) <= NUMBER_MAX_CHARS else text[:NUMBER_MAX_CHARS] + "…")


def _bounded(value: float, shown: str, option: str, minimum: float | None,
             maximum: float | None) -> float:
    if minimum is not None and value < minimum:
        raise ValidationError(f"{option} 必须 ≥ {minimum} (must be ≥ {minimum}), got {shown}")
    if maximum is not None and value > maximum:
        raise ValidationError(f"{option} 必须 ≤ {maximum} (must be ≤ {maximum}), got {shown}")
    return value


def parse_number(text: object, option: str, *, integer: bool = False,
                 minimum: float | None = None, maximum: float | None = None):
    """A number given on the command line (``None`` stays ``None``).

    Parameters
    ----------
    text : str or None
        What was typed (a number default passes through the same checks).
    option : str
        The option's name for the message (``--radius``, ``-k``, ``CANDIDATE_ID``).
    integer : bool
        An ``int`` (``5.0`` is refused), else a finite ``float``.
    minimum, maximum : number, optional
        Inclusive bounds.

    Raises
    ------
    ValidationError
        One line naming the option (exit status 2): not a number, not ASCII digits, longer
        than :data:`NUMBER_MAX_CHARS`, not finite, or out of bounds.
    """
    if text is None:
        return None
    kind = "整数 (an integer)" if integer else "数字 (a number)"
    raw = str(text).strip()
    shown = _shown(raw)
    if len(raw) > NUMBER_MAX_CHARS:
        raise ValidationError(f"{option} 太长 (a number of at most {NUMBER_MAX_CHARS} "
                              f"characters), got {shown}")
    if not raw.isascii():
        raise ValidationError(f"{option} 需要{kind}，请用半角数字 (ASCII digits 0-9), got {shown}")
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ValidationError(f"{option} 需要{kind}, got {shown}") from None
    if not integer and not math.isfinite(value):
        raise ValidationError(f"{option} 需要有限数字 (a finite number), got {shown}")
    return _bounded(value, shown, option, minimum, maximum)


class Number(click.ParamType):
    """The click type of every numeric option and argument: :func:`parse_number`.

    A bad value raises :class:`ValidationError`, which the group prints as one line naming
    the option (exit 2), instead of click's usage box.
    """

    def __init__(self, *, integer: bool = False, minimum: float | None = None,
                 maximum: float | None = None) -> None:
        self.integer, self.minimum, self.maximum = integer, minimum, maximum
        self.name = "integer" if integer else "number"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = repr(value)  # a default given as a number: the same checks
        option = (param.opts[0] if isinstance(param, click.Option) and param.opts
                  else param.human_readable_name if param is not None else "value")
        return parse_number(value, option, integer=self.integer, minimum=self.minimum,
                            maximum=self.maximum)

    def __repr__(self) -> str:
        return f"Number(integer={self.integer}, minimum={self.minimum}, maximum={self.maximum})"


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

    store = Store().prepare(reset=reset)
    context = click.get_current_context(silent=True)
    if context is not None:  # the command's connections close with it (no pooled leftovers)
        context.call_on_close(store.dispose)
    return store


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nuanxin")
def main() -> None:
    """暖心驿站 Nuanxin — 户外劳动者服务站点的查找、筛选与规划。"""
