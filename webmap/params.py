"""Declarative request parameters: one table per route validates requests *and* writes OpenAPI.

Each API route declares its query, path and JSON-body parameters as :class:`Param` rows.
:meth:`ApiSpec.route` registers the Flask view, parses and validates every request against
that table (unknown, repeated, missing, mistyped or out-of-range parameters → 400 with
``{"error", "detail"}``), and :meth:`ApiSpec.openapi` generates the OpenAPI 3 document from the
very same rows, so the document cannot drift from what the server accepts.

A route whose body is not a flat table of fields (a GeoJSON Feature, a patch) declares a
``request_body`` schema instead and reads the parsed object from ``args["body"]``; a route that
needs credentials names its ``security`` requirement (documented with the spec's
``security_schemes``) and an ``authenticate`` callable, run before anything else is parsed
(its result is ``args["auth"]``), so a request without credentials is a 401 whatever its body.

What the document states is what the server enforces (issue 15; ``tests/test_schemathesis.py``
fuzzes both ways): ``pattern``, ``maxLength``, ``enum`` (exact spelling), bounds and types are
checked on the value as sent; a time (``fmt="date-time"``) is documented and checked as
:data:`TIME_PATTERN` (ISO 8601 as :func:`stations.hours.parse_open_at` reads it, naive =
Asia/Shanghai, or ``now``), not as RFC 3339, which would refuse naive times; a repeatable
enum is documented as the comma list it accepts; an optional query parameter sent empty is
absent (``allowEmptyValue``), an optional body field sent ``null`` likewise (``nullable``); a
``request_body`` schema is validated as documented (the document is OpenAPI 3.1, JSON Schema
2020-12, formats checked, :data:`HOURS_FORMAT` among them) before the view reads it.

And none it allows is refused (``positive_data_acceptance``): a cross-field rule of a body
(fields that go together, a value that needs another field) is a :func:`body_rule`, stated in
the body's schema (``anyOf``/``not``/``required``) and enforced from that same dict; what the
document cannot state gets a defined meaning instead of a 400 (see ``tests/
test_api_contract.py``).
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, request

from stations.errors import NuanxinError, ValidationError

__all__ = ["Param", "Endpoint", "ApiSpec", "parse_query", "parse_body", "json_depth",
           "read_json_body", "MAX_JSON_DEPTH", "TIME_PATTERN", "check_body", "body_rule",
           "HOURS_FORMAT"]

_TYPES = ("string", "number", "integer", "boolean")
_TRUE = {"true"}
_FALSE = {"false"}
_SPLIT = re.compile(r"[,，、]")
#: ASCII digits only (``\d`` would also take full-width and Arabic-Indic digits), at most 18 so
#: ``int()`` never meets a 4,300-digit string and every value fits a 64-bit integer.
_INT = re.compile(r"^-?[0-9]{1,18}$")
#: A number as text: ASCII decimal or exponent notation (what any JSON/OpenAPI client sends;
#: not ``inf``, ``nan``, ``1_000``, hex or padded text, which ``float()`` would take).
_NUMBER = re.compile(r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
#: A time as :func:`stations.hours.parse_open_at` reads it: ``now``, a date, a date and time
#: (``T`` or a space, optional seconds and fraction, optional ``Z``/``±hh:mm``), or a bare
#: time of day (today). Documented as this pattern: RFC 3339 ``date-time`` has no naive form.
_YEAR = r"(?:19[7-9][0-9]|20[0-9][0-9]|2100)"  # stations.limits.YEAR_MIN–YEAR_MAX
_LEAP_DAY = r"(?:19(?:7[26]|8[048]|9[26])|20(?:[02468][048]|[13579][26]))-02-29"
_DATE = (rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
         r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
         rf"|{_LEAP_DAY})")
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
TIME_PATTERN = (rf"^(?:now|{_DATE}(?:[T ]{_CLOCK}(?::[0-5][0-9](?:\.[0-9]{{1,6}})?)?"
                rf"(?:Z|[+-]{_CLOCK})?)?|{_CLOCK}(?::[0-5][0-9])?)$")
_FORMAT_PATTERNS = {"date-time": TIME_PATTERN}
#: Deepest JSON body accepted (objects and arrays); deeper is a 400, never a RecursionError.
MAX_JSON_DEPTH = 32
_INT64_MAX = 2**63 - 1
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_RULE_ARG = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _short(raw: object) -> object:
    """A value as echoed back in an error: long text and huge integers cut to 40 characters,
    non-finite numbers as text (a JSON body must never carry a bare NaN)."""
    if isinstance(raw, float) and not math.isfinite(raw):
        return str(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) >= 10**18:
        return "…" + str(raw)[-12:] if raw.bit_length() < 10_000 else "(huge integer)"
    if isinstance(raw, str) and len(raw) > 40:
        return raw[:40] + "…"
    return raw


def _storable(text: str) -> bool:
    """Text the store can hold: valid Unicode (no lone surrogate) and no NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def json_depth(data: bytes) -> int:
    """Deepest nesting of objects/arrays in a JSON text, without parsing it (strings skipped).

    Lets a body nested thousands deep be refused before :mod:`json` recurses into it.
    """
    import numpy as np

    skeleton = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    if not skeleton.size:
        return 0
    steps = (np.isin(skeleton, (ord("["), ord("{"))).astype(np.int64)
             - np.isin(skeleton, (ord("]"), ord("}"))))
    return int(np.cumsum(steps).max(initial=0))


@dataclass(frozen=True)
class Param:
    """One request parameter.

    Parameters
    ----------
    name : str
        Name in the query string, path or JSON body.
    type : {"string", "number", "integer", "boolean"}
        Value type (of each item when ``repeat``).
    description : str
        Shown in the OpenAPI document.
    required : bool
        Missing → 400.
    default : object
        Value when absent (not validated; give it in the parsed form).
    minimum, maximum : float, optional
        Inclusive bounds for numbers.
    enum : tuple of str, optional
        Accepted values (compared case-insensitively, returned in the listed spelling).
    max_length : int, optional
        Longest accepted string.
    repeat : bool
        The parameter may be repeated and/or comma-separated; parsed to a list.
    where : {"query", "path", "body"}
        Where the value comes from.
    convert : callable, optional
        Applied to the parsed value; may raise :class:`~stations.errors.NuanxinError`
        (reported as 400 naming this parameter) and may return a richer value.
    fmt, pattern, example : optional
        ``pattern`` (a regular expression the text as sent must contain a match of, as in
        JSON Schema; anchor it) and ``example``. ``fmt="date-time"`` is a time as
        :func:`stations.hours.parse_open_at` reads it, documented and checked as
        :data:`TIME_PATTERN`; any other ``fmt`` is only documented.
    """

    name: str
    type: str = "string"
    description: str = ""
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    max_length: int | None = None
    repeat: bool = False
    where: str = "query"
    convert: Callable[[Any], Any] | None = None
    fmt: str | None = None
    pattern: str | None = None
    example: Any = None

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"Param {self.name}: type must be one of {_TYPES}")
        if self.where not in ("query", "path", "body"):
            raise ValueError(f"Param {self.name}: where must be query, path or body")

    # -- validation -------------------------------------------------------------------
    def _fail(self, raw: object, expected: str) -> ValidationError:
        where = {"query": "参数", "path": "路径参数", "body": "字段"}[self.where]
        raw = _short(raw) if not isinstance(raw, list) else [_short(r) for r in raw[:10]]
        return ValidationError(
            f"{where} {self.name} 无效 (invalid {self.where} parameter {self.name!r}: "
            f"expected {expected}, got {raw!r})",
            detail={"param": self.name, "value": raw, "expected": expected})

    def _expected(self) -> str:
        text = {"string": "text", "number": "a number", "integer": "a whole number",
                "boolean": "true or false"}[self.type]
        if self.enum:
            text = "one of " + ", ".join(self.enum)
        bounds = []
        if self.minimum is not None:
            bounds.append(f"≥ {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"≤ {self.maximum:g}")
        if bounds:
            text += " " + " and ".join(bounds)
        if self.max_length is not None:
            text += f" of at most {self.max_length} characters"
        return text

    @property
    def text_pattern(self) -> str | None:
        """The pattern a (single) text value must match: ``pattern``, else the format's."""
        return self.pattern or _FORMAT_PATTERNS.get(self.fmt or "")

    @property
    def list_pattern(self) -> str | None:
        """A repeatable enum's pattern: one value or several joined by ``,``, ``，`` or ``、``."""
        if not (self.repeat and self.enum):
            return None
        one = "(?:" + "|".join(re.escape(e) for e in self.enum) + ")"
        return f"^{one}(?:[,，、]{one})*$"

    def _check_text(self, raw: str, pattern: str | None) -> None:
        """``maxLength`` and ``pattern`` on a text value exactly as sent."""
        if self.max_length is not None and len(raw) > self.max_length:
            raise self._fail(raw[:40] + "…", self._expected())
        if pattern is not None and not re.search(pattern, raw, re.ASCII):  # \d as in ECMA
            raise self._fail(raw, f"text matching {pattern}")

    def parse_one(self, raw: object) -> Any:
        """Parse one value (a string from a query/path, or a JSON value from a body)."""
        if self.type == "string":
            return self._parse_string(raw)
        if self.type == "boolean":
            return self._parse_boolean(raw)
        value = self._parse_integer(raw) if self.type == "integer" else self._parse_number(raw)
        if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum):
            raise self._fail(_short(raw), self._expected())
        return value

    def _parse_string(self, raw: object) -> str:
        """Storable text within ``max_length`` matching ``pattern``, then stripped; an ``enum``
        value exactly as listed."""
        if not isinstance(raw, str):
            raise self._fail(raw, self._expected())
        if not _storable(raw):
            raise self._fail(raw.encode("ascii", "backslashreplace").decode("ascii")[:40],
                             "valid Unicode text (no lone surrogate, no NUL)")
        if self.enum:
            if raw not in self.enum:
                raise self._fail(raw, self._expected())
            return raw
        self._check_text(raw, None if self.repeat else self.text_pattern)
        return raw.strip()

    def _parse_boolean(self, raw: object) -> bool:
        """A JSON boolean (in a body), or ``true`` / ``false`` (in a query or path)."""
        if isinstance(raw, bool):
            return raw
        if self.where == "body" or not isinstance(raw, str):
            raise self._fail(raw, self._expected())
        text = raw
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self._fail(raw, self._expected())

    def _parse_integer(self, raw: object) -> int:
        """A JSON integer (in a body; ``5.0`` is one) or ASCII digits (in a query or path),
        within 64 bits (bounds are checked by the caller)."""
        if isinstance(raw, float) and self.where == "body" and math.isfinite(raw) \
                and raw.is_integer() and abs(raw) <= _INT64_MAX:
            raw = int(raw)
        if isinstance(raw, bool) or not (isinstance(raw, int) or (
                isinstance(raw, str) and self.where != "body" and _INT.match(raw))):
            raise self._fail(_short(raw), self._expected())
        value = int(raw)
        if abs(value) > _INT64_MAX:  # a JSON body can carry any integer
            raise self._fail(_short(raw), self._expected())
        return value

    def _parse_number(self, raw: object) -> float:
        """A finite number: a JSON number (in a body) or short decimal text (in a query or
        path); bounds are checked by the caller."""
        if isinstance(raw, bool) or (isinstance(raw, str) and self.where == "body"):
            raise self._fail(raw, self._expected())
        if isinstance(raw, str) and (len(raw) > 64 or not _NUMBER.match(raw)):
            raise self._fail(_short(raw), self._expected())
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            raise self._fail(_short(raw), self._expected()) from None
        if not math.isfinite(value):
            raise self._fail(_short(raw), self._expected())
        return value

    def parse(self, raws: Sequence[object]) -> Any:
        """Parse the value(s) given for this parameter (already known to be present)."""
        if self.repeat:
            items: list[object] = []
            for raw in raws:
                if isinstance(raw, str):
                    if self.enum:
                        self._check_text(raw, self.list_pattern)
                    items.extend(p for p in (s.strip() for s in _SPLIT.split(raw)) if p)
                elif isinstance(raw, list):
                    items.extend(raw)
                else:
                    items.append(raw)
            value: Any = [self.parse_one(item) for item in items]
        else:
            if len(raws) > 1:
                raise self._fail(list(raws), "a single value (given more than once)")
            value = self.parse_one(raws[0])
        if self.convert is not None:
            try:
                value = self.convert(value)
            except NuanxinError as exc:
                raise ValidationError(
                    f"参数 {self.name} 无效 (invalid parameter {self.name!r}): {exc.message}",
                    detail={"param": self.name, "value": _short(raws[0]) if len(raws) == 1
                            else [_short(r) for r in raws[:10]], "reason": exc.message},
                ) from None
        return value

    # -- OpenAPI ----------------------------------------------------------------------
    def schema(self) -> dict:
        """JSON Schema of the (item) value."""
        schema: dict[str, Any] = {"type": self.type}
        if self.list_pattern:
            schema["pattern"] = self.list_pattern
            schema["description"] = ("One of " + ", ".join(self.enum)
                                     + ", or several joined by commas.")
        elif self.enum:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.fmt and self.fmt not in _FORMAT_PATTERNS:
            schema["format"] = self.fmt
        if self.text_pattern and not self.enum:
            schema["pattern"] = self.text_pattern
        if self.repeat:
            schema = {"type": "array", "items": schema}
        if self.default is not None and not callable(self.default):
            schema["default"] = self.default
        return schema

    def openapi(self) -> dict:
        """An OpenAPI 3 Parameter Object."""
        out: dict[str, Any] = {
            "name": self.name, "in": self.where, "required": self.required or self.where == "path",
            "description": self.description, "schema": self.schema(),
        }
        if self.repeat:
            out["style"], out["explode"] = "form", True
        if self.where == "query" and not self.required:
            out["allowEmptyValue"] = True  # sent empty = not sent (the default applies)
        if self.example is not None:
            out["example"] = self.example
        return out


def parse_query(params: Iterable[Param], args: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Validate a query (a MultiDict-like ``{name: [values]}``) against its table."""
    params = [p for p in params if p.where == "query"]
    known = {p.name for p in params}
    unknown = sorted(set(args) - known)
    if unknown:
        raise ValidationError(
            f"未知参数 {', '.join(unknown)} (unknown query parameter(s); accepted: "
            f"{', '.join(sorted(known)) or 'none'})",
            detail={"unknown": unknown, "accepted": sorted(known)})
    out: dict[str, Any] = {}
    for p in params:
        raws = [v for v in args.get(p.name, []) if not (isinstance(v, str) and not v.strip())]
        if not raws:
            if p.required:
                raise ValidationError(
                    f"缺少参数 {p.name} (missing required query parameter {p.name!r}: "
                    f"{p.description})", detail={"param": p.name, "reason": "missing"})
            out[p.name] = p.default() if callable(p.default) else p.default
            continue
        out[p.name] = p.parse(raws)
    return out


def parse_body(params: Iterable[Param], body: object) -> dict[str, Any]:
    """Validate a JSON body (an object) against its table; unknown keys → 400."""
    params = [p for p in params if p.where == "body"]
    if not isinstance(body, dict):
        raise ValidationError("请求体必须是 JSON 对象 (the body must be a JSON object)",
                              detail={"expected": "object", "got": type(body).__name__})
    known = {p.name for p in params}
    unknown = sorted(set(body) - known)
    if unknown:
        raise ValidationError(
            f"未知字段 {', '.join(unknown)} (unknown body field(s); accepted: "
            f"{', '.join(sorted(known))})", detail={"unknown": unknown, "accepted": sorted(known)})
    out: dict[str, Any] = {}
    for p in params:
        raw = body.get(p.name)
        if raw is None:
            if p.required:
                raise ValidationError(f"缺少字段 {p.name} (missing required field {p.name!r})",
                                      detail={"param": p.name, "reason": "missing"})
            out[p.name] = p.default
            continue
        out[p.name] = p.parse([raw])
    return out


def read_json_body() -> object:
    """The request's JSON body, parsed: 400 unless it is JSON (Content-Type), nested at most
    :data:`MAX_JSON_DEPTH` deep and valid."""
    if not request.is_json:
        raise ValidationError(
            "请求体必须是 JSON (send Content-Type: application/json)",
            detail={"content_type": request.content_type})
    depth = json_depth(request.get_data(cache=True))
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(
            f"JSON 嵌套太深 (the body is nested {depth} deep; at most "
            f"{MAX_JSON_DEPTH})", detail={"reason": "too deep", "max_depth": MAX_JSON_DEPTH})
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationError("请求体不是有效的 JSON (the body is not valid JSON)",
                              detail={"reason": "invalid json"})
    return body


#: The ``format`` of opening hours in a request body: text :class:`stations.hours.
#: OpeningHours` reads (blank = unknown), checked by :func:`check_body` like any format.
HOURS_FORMAT = "opening-hours"


def _hours_text(value: object) -> bool:
    from stations.hours import OpeningHours
    from stations.records import clean_text

    text = clean_text(value) if isinstance(value, str) else ""
    if text:
        OpeningHours.parse(text)  # ValueError: not hours
    return True


@functools.cache
def _format_checker():
    """OpenAPI 3.1's formats plus ours (:data:`HOURS_FORMAT`)."""
    from jsonschema import FormatChecker
    from openapi_schema_validator import oas31_format_checker

    checker = FormatChecker(formats=())
    checker.checkers = dict(oas31_format_checker.checkers)
    checker.checks(HOURS_FORMAT, raises=ValueError)(_hours_text)
    return checker


_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_KEYS = ("items", "additionalProperties", "not", "anyOf", "oneOf", "allOf",
                "prefixItems", "contains")


def oas31(schema: Any) -> Any:
    """A schema as our declarations write it (OpenAPI 3.0's ``nullable``) in the dialect of
    OpenAPI 3.1 (JSON Schema 2020-12): ``nullable`` becomes ``"null"`` in ``type`` and
    ``enum``. The declarations may use 2020-12 keywords (``prefixItems``: a tuple such as a
    GeoJSON position, which OpenAPI 3.0 cannot bound item by item)."""
    if isinstance(schema, list):
        return [oas31(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: oas31(sub) for name, sub in value.items()}
        elif key in _SCHEMA_KEYS:
            out[key] = oas31(value)
        elif key != "nullable":
            out[key] = value
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _validator(schema: dict, components: Mapping[str, dict]):
    from openapi_schema_validator import OAS31Validator

    root = {**oas31(schema), "components": {"schemas": {
        name: oas31(sub) for name, sub in components.items()}}}
    return OAS31Validator(root, format_checker=_format_checker())


def _rule_message(error) -> str | None:
    """The ``x-message`` of the cross-field rule (a schema with one) that ``error`` breaks."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    return schema.get("x-message")


def body_rule(message: str, schema: dict) -> dict:
    """A cross-field rule on a JSON body (which fields go together, which value needs which
    field), stated as JSON Schema (``anyOf``, ``not``,
    ``required``) so the document says it, and enforced by :func:`check_body` from the same
    dict, answering ``message`` when it is broken (kept as the ``x-message`` extension)."""
    return {**schema, "x-message": message}


def check_body(body: object, schema: dict, components: Mapping[str, dict]) -> None:
    """Validate a parsed JSON body against its documented schema (OpenAPI 3.1 dialect, with
    ``#/components/schemas/...`` references and formats); 400 naming the first problem."""
    from jsonschema.exceptions import best_match

    errors = list(_validator(schema, components).iter_errors(body))
    if not errors:
        return
    plain = [e for e in errors if not _rule_message(e)]
    if not plain:  # only cross-field rules broken: the first rule's own words
        rule = errors[0]
        where = "/".join(str(p) for p in rule.absolute_path) or "(body)"
        raise ValidationError(_rule_message(rule), detail={
            "path": where, "reason": _rule_message(rule), "rule": str(rule.validator)})
    error = best_match(plain)
    where = "/".join(str(p) for p in error.absolute_path) or "(body)"
    message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    raise ValidationError(
        f"请求体不符合接口文档 (the body does not match the documented schema) at {where}: "
        f"{message}", detail={"path": where, "reason": message,
                              "rule": str(error.validator)})


@dataclass
class Endpoint:
    """One documented API operation."""

    rule: str
    method: str
    view_name: str
    summary: str
    description: str
    params: tuple[Param, ...]
    responses: dict[str, dict]
    tags: tuple[str, ...] = ()
    body_description: str = ""
    security: tuple[dict, ...] | None = None
    request_body: dict | None = None
    body_rules: tuple[dict, ...] = ()

    @property
    def openapi_path(self) -> str:
        return _RULE_ARG.sub(r"{\1}", self.rule)

    def operation(self) -> dict:
        op: dict[str, Any] = {
            "operationId": self.view_name,
            "summary": self.summary,
            "description": self.description,
            "tags": list(self.tags),
            "parameters": [p.openapi() for p in self.params if p.where in ("query", "path")],
            "responses": self.responses,
        }
        if self.security is not None:
            op["security"] = [dict(s) for s in self.security]
        if self.request_body is not None:
            op["requestBody"] = {"required": True, "description": self.body_description,
                                 "content": {"application/json": {"schema": self.request_body}}}
        body = [p for p in self.params if p.where == "body"]
        if body:
            props = {}
            for p in body:
                schema = p.schema()
                if p.description:
                    schema["description"] = p.description
                if not p.required:  # null is read as absent (the default applies)
                    schema["nullable"] = True
                    if "enum" in schema:
                        schema["enum"] = [*schema["enum"], None]
                props[p.name] = schema
            op["requestBody"] = {
                "required": True, "description": self.body_description,
                "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False, "properties": props,
                    "required": [p.name for p in body if p.required],
                    **({"allOf": list(self.body_rules)} if self.body_rules else {})}}},
            }
        return op


@dataclass
class ApiSpec:
    """Routes declared with parameter tables, and the OpenAPI document built from them."""

    title: str
    version: str
    description: str = ""
    prefix: str = ""
    endpoints: list[Endpoint] = field(default_factory=list)
    components: dict[str, dict] = field(default_factory=dict)
    security_schemes: dict[str, dict] = field(default_factory=dict)

    def route(self, bp: Blueprint, rule: str, *, method: str = "GET", summary: str,
              description: str = "", params: Sequence[Param] = (),
              responses: Mapping[str, dict] | None = None, tags: Sequence[str] = (),
              body_description: str = "", security: Sequence[dict] | None = None,
              request_body: dict | None = None, body_rules: Sequence[dict] = (),
              authenticate: Callable[[], Any] | None = None):
        """Register a view on ``bp`` whose arguments are validated against ``params``.

        The view is called as ``view(args)`` with the parsed parameters (query, path and body
        together) in one dict. With ``request_body`` (a JSON Schema, documented as it is) the
        body must be a JSON object and arrives whole as ``args["body"]``. ``authenticate`` is
        called first; its result is ``args["auth"]``. ``security`` is the operation's OpenAPI
        security requirement (``[{"bearer": []}]``). ``body_rules`` (:func:`body_rule`) are
        cross-field rules on a body of ``params``: documented in its schema (``allOf``) and
        checked on the body once each field has parsed.
        """
        if request_body is not None and any(p.where == "body" for p in params):
            raise ValueError(f"{rule}: give body params or a request_body schema, not both")
        params = tuple(params)
        path_names = set(_RULE_ARG.findall(rule))
        declared = {p.name for p in params if p.where == "path"}
        if path_names != declared:
            raise ValueError(f"{rule}: path parameters {path_names} must be declared, "
                             f"got {declared}")

        def decorator(fn):
            @functools.wraps(fn)
            def view(**path_kwargs):
                auth = authenticate() if authenticate is not None else None
                args = parse_query(params, request.args.to_dict(flat=False))
                if authenticate is not None:
                    args["auth"] = auth
                for p in params:
                    if p.where == "path":
                        args[p.name] = p.parse([path_kwargs[p.name]])
                if request_body is not None:
                    body = read_json_body()
                    if not isinstance(body, dict):
                        raise ValidationError(
                            "请求体必须是 JSON 对象 (the body must be a JSON object)",
                            detail={"expected": "object", "got": type(body).__name__})
                    check_body(body, request_body, self.components)
                    args["body"] = body
                elif any(p.where == "body" for p in params):
                    body = read_json_body()
                    args.update(parse_body(params, body))
                    if body_rules:
                        check_body(body, {"allOf": list(body_rules)}, self.components)
                return fn(args)

            bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
            self.endpoints.append(Endpoint(
                rule=self.prefix + rule, method=method.lower(), view_name=fn.__name__,
                summary=summary, description=description or (fn.__doc__ or "").strip(),
                params=params, responses=dict(responses or {"200": {"description": "OK"}}),
                tags=tuple(tags), body_description=body_description,
                security=None if security is None else tuple(security),
                request_body=request_body, body_rules=tuple(body_rules)))
            return view

        return decorator

    def openapi(self, *, server_url: str = "/") -> dict:
        """The OpenAPI 3.1 document of every registered endpoint (schemas through
        :func:`oas31`, as :func:`check_body` validates them)."""
        paths: dict[str, dict] = {}
        for ep in self.endpoints:
            paths.setdefault(ep.openapi_path, {})[ep.method] = _op31(ep.operation())
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version,
                     "description": self.description},
            "servers": [{"url": server_url}],
            "paths": paths,
            "components": {"schemas": {name: oas31(sub)
                                       for name, sub in self.components.items()},
                           **({"securitySchemes": self.security_schemes}
                              if self.security_schemes else {})},
        }


def _op31(op: dict) -> dict:
    """An operation with every parameter, body and response schema through :func:`oas31`."""
    op = copy.deepcopy(op)
    for param in op.get("parameters", ()):
        param["schema"] = oas31(param["schema"])
    contents = [op["requestBody"]["content"]] if "requestBody" in op else []
    contents += [r["content"] for r in op["responses"].values() if "content" in r]
    for content in contents:
        for media in content.values():
            media["schema"] = oas31(media["schema"])
    return op
