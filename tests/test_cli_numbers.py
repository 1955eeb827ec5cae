"""Numbers on the command line: one type (``webmap.cli.base.Number``) for every option.

A bad number is exit status 2 and one line on stderr naming the option: not a number,
full-width or other non-ASCII digits, longer than 30 characters, not finite, out of bounds.
"""

from __future__ import annotations

import math

import click
import pytest
from click.testing import CliRunner

from stations.errors import ValidationError
from webmap.cli import main
from webmap.cli.base import NUMBER_MAX_CHARS, Number, parse_number

LONG = "9" * 4300


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize(("args", "words"), [
    (["nearest", "--lon", "abc", "--lat", "39.9"], "--lon 需要数字"),
    (["nearest", "--lon", "１１６.３", "--lat", "39.9"], "--lon 需要数字"),
    (["nearest", "--lon", "116.3", "--lat", "nan"], "--lat 需要有限数字"),
    (["nearest", "--lon", "116.3", "--lat", "39.9", "-k", LONG], "-k 太长"),
    (["nearest", "--lon", "116.3", "--lat", "39.9", "-k", "٣"], "-k 需要整数"),
    (["nearest", "--lon", "116.3", "--lat", "39.9", "--radius", "inf"], "--radius 需要有限数字"),
    (["convert", "--from", "wgs84", "--to", "gcj02", "１１６", "39.9"], "LON 需要数字"),
    (["convert", "--from", "wgs84", "--to", "gcj02", "116", "1e999"], "LAT 需要有限数字"),
    (["coverage", "--radius", "-inf"], "--radius 需要有限数字"),
    (["coverage", "--cell", "0.5"], "--cell 必须 ≥ 1"),
    (["coverage", "--min-stations", "２"], "--min-stations 需要整数"),
    (["site", "--add", LONG], "--add 太长"),
    (["site", "--add", "1.5"], "--add 需要整数"),
    (["candidates", "agree", "abc"], "CANDIDATE_ID 需要整数"),
    (["candidates", "history", "99999999999"], "CANDIDATE_ID 必须 ≤ 2147483647"),
    (["candidates", "visit", "1", "--notes", "n", "--lon", "１", "--lat", "2"], "--lon"),
    (["serve", "--port", "70000"], "--port 必须 ≤ 65535"),
    (["serve", "--port", "８０"], "--port 需要整数"),
    (["serve", "--threads", "0"], "--threads 必须 ≥ 1"),
], ids=["word", "full-width", "nan", "long-int", "arabic-indic", "inf", "convert-full-width",
        "convert-overflow", "minus-inf", "below-minimum", "full-width-int", "long-add",
        "fraction-for-int", "id-word", "id-too-large", "visit-pin", "port-range",
        "port-full-width", "threads-zero"])
def test_a_bad_number_is_one_line_naming_the_option(store, args, words):
    result = _run(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.output and "Usage:" not in result.stderr
    assert len(lines[0]) < 200  # a 4,300-digit value is not echoed back


def test_a_bad_click_choice_is_one_line_too(store):
    result = _run("users", "add", "someone", "--role", "boss", "--password-stdin")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--role" in lines[0] and "Usage:" not in result.stderr


@pytest.mark.parametrize(("text", "integer", "value"), [
    ("12", True, 12), (" 12 ", True, 12), ("-3", True, -3), ("1e3", False, 1000.0),
    ("-0.5", False, -0.5), ("116.397500000000000", False, 116.3975), (None, False, None),
], ids=["int", "spaces", "negative-int", "exponent", "negative-float", "many-decimals", "none"])
def test_parse_number_reads_plain_ascii_numbers(text, integer, value):
    assert parse_number(text, "--x", integer=integer) == value


@pytest.mark.parametrize(("text", "integer", "match"), [
    ("１２", True, "ASCII"), ("12.0", True, "整数"), ("nan", False, "有限"),
    ("1" * (NUMBER_MAX_CHARS + 1), True, "太长"), ("", False, "数字"),
], ids=["full-width", "float-for-int", "nan", "too-long", "empty"])
def test_parse_number_refuses(text, integer, match):
    with pytest.raises(ValidationError, match=match):
        parse_number(text, "--x", integer=integer)


def test_parse_number_bounds_are_inclusive():
    assert parse_number("1", "--n", integer=True, minimum=1, maximum=1) == 1
    with pytest.raises(ValidationError, match=r"--n 必须 ≥ 1"):
        parse_number("0", "--n", integer=True, minimum=1)
    assert math.isclose(parse_number("2.5", "--r", maximum=2.5), 2.5)


def _params(command: click.Command):
    yield from ((command, p) for p in command.params)
    for sub in getattr(command, "commands", {}).values():
        yield from _params(sub)


def test_every_numeric_cli_parameter_uses_the_one_number_type():
    numeric = (click.types.IntParamType, click.types.FloatParamType)
    offenders = [f"{c.name} {p.name}" for c, p in _params(main)
                 if isinstance(p.type, numeric)]
    assert offenders == []
    assert any(isinstance(p.type, Number) for _, p in _params(main))
