"""Input validation as Dokploy runs it: a ``z.object`` parse after trpc-openapi's coercion.

trpc-openapi sets ``coerce`` on every ``z.number()`` and ``z.boolean()`` of an input object, so
those run JavaScript's ``Number(x)`` / ``Boolean(x)`` first (:func:`js_number`, :func:`js_truthy`).
Unknown keys are stripped, absent optional keys stay absent (Dokploy tells "absent" from "null"),
and every issue is collected. The issues are worded as zod 4 (v0.30.2) or zod 3 (v0.26.7) words
them, field for field as the real servers send them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .._js import js_trim

__all__ = ["MISSING", "Field", "ValidationFailed", "js_number", "js_truthy", "validate"]

MISSING: Any = object()


class ValidationFailed(Exception):
    """Raised with the list of zod issues; the HTTP layer turns it into a 400."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        super().__init__("Input validation failed")
        self.issues = issues

    def flatten(self) -> dict[str, Any]:
        """``ZodError.flatten()``: what Dokploy's errorFormatter puts in ``data.zodError``."""
        form_errors: list[str] = []
        field_errors: dict[str, list[str]] = {}
        for issue in self.issues:
            path = issue["path"]
            if path:
                field_errors.setdefault(str(path[0]), []).append(issue["message"])
            else:
                form_errors.append(issue["message"])
        return {"formErrors": form_errors, "fieldErrors": field_errors}


@dataclass(frozen=True)
class Field:
    """One key of a ``z.object`` shape.

    ``kind`` is ``string``, ``number``, ``boolean``, ``strings`` (an array of strings, each of
    ``min_length``) or ``services`` (``selectedServices``: an array of ``{id, type}`` whose ``type``
    is one of ``options``). ``required`` means "not optional";
    ``nullable`` accepts JSON null; ``default`` is used when the key is absent.
    """

    name: str
    kind: str = "string"
    required: bool = True
    nullable: bool = False
    min_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = MISSING
    options: tuple[str, ...] = ()


# -- JavaScript coercion ----------------------------------------------------------------------------


def js_truthy(value: Any) -> bool:
    """JavaScript ``Boolean(value)``."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str):
        return value != ""
    return True  # true, and any array/object (even empty) is truthy in JS


_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Infinity)")


def js_number(value: Any) -> float:
    """JavaScript ``Number(value)``."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        if not value:
            return 0.0
        if len(value) == 1 and not isinstance(value[0], (list, dict)):
            return js_number("" if value[0] is None else str(value[0]))
        return math.nan
    if isinstance(value, str):
        text = js_trim(value)
        if text == "":
            return 0.0
        lowered = text.lower()
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if lowered.startswith(prefix):
                try:
                    return float(int(text[2:], base))
                except ValueError:
                    return math.nan
        if _JS_DECIMAL.fullmatch(text):
            return float(text.replace("Infinity", "inf"))
        return math.nan
    return math.nan


def _plain(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


# -- the two dialects of issues ---------------------------------------------------------------------


def _v4_type(value: Any) -> str:
    """zod 4's ``parsedType``: the word after "received" in its messages."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "NaN" if isinstance(value, float) and math.isnan(value) else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _v3_type(value: Any) -> str:
    """zod 3's ``getParsedType`` (lower case, ``nan`` for NaN)."""
    word = _v4_type(value)
    return "nan" if word == "NaN" else word


class _Zod4:
    """Issues as zod 4 words them (v0.30.2)."""

    @staticmethod
    def invalid_type(expected: str, value: Any, path: list[Any]) -> dict[str, Any]:
        issue: dict[str, Any] = {"expected": expected, "code": "invalid_type"}
        if expected == "number" and isinstance(value, float) and not math.isfinite(value):
            # z.number() alone adds `received`, and only for NaN and +-Infinity.
            issue["received"] = "NaN" if math.isnan(value) else "Infinity"
        issue["path"] = path
        issue["message"] = f"Invalid input: expected {expected}, received {_v4_type(value)}"
        return issue

    @staticmethod
    def too_small(origin: str, minimum: float, path: list[Any]) -> dict[str, Any]:
        what = (
            f"string to have >={_plain(minimum)} characters"
            if origin == "string"
            else f"number to be >={_plain(minimum)}"
        )
        return {
            "origin": origin,
            "code": "too_small",
            "minimum": _plain(minimum),
            "inclusive": True,
            "path": path,
            "message": f"Too small: expected {what}",
        }

    @staticmethod
    def too_big(maximum: float, path: list[Any]) -> dict[str, Any]:
        return {
            "origin": "number",
            "code": "too_big",
            "maximum": _plain(maximum),
            "inclusive": True,
            "path": path,
            "message": f"Too big: expected number to be <={_plain(maximum)}",
        }

    @staticmethod
    def invalid_option(options: tuple[str, ...], value: Any, path: list[Any]) -> dict[str, Any]:
        listed = "|".join(f'"{name}"' for name in options)
        return {
            "code": "invalid_value",
            "values": list(options),
            "path": path,
            "message": f"Invalid option: expected one of {listed}",
        }


class _Zod3:
    """Issues as zod 3 words them (v0.26.7)."""

    @staticmethod
    def invalid_type(expected: str, value: Any, path: list[Any]) -> dict[str, Any]:
        received = _v3_type(value)
        message = "Required" if value is MISSING else f"Expected {expected}, received {received}"
        return {"code": "invalid_type", "expected": expected, "received": received, "path": path, "message": message}

    @staticmethod
    def too_small(origin: str, minimum: float, path: list[Any]) -> dict[str, Any]:
        if origin == "string":
            message = f"String must contain at least {_plain(minimum)} character(s)"
        else:
            message = f"Number must be greater than or equal to {_plain(minimum)}"
        return {
            "code": "too_small",
            "minimum": _plain(minimum),
            "type": origin,
            "inclusive": True,
            "exact": False,
            "message": message,
            "path": path,
        }

    @staticmethod
    def too_big(maximum: float, path: list[Any]) -> dict[str, Any]:
        return {
            "code": "too_big",
            "maximum": _plain(maximum),
            "type": "number",
            "inclusive": True,
            "exact": False,
            "message": f"Number must be less than or equal to {_plain(maximum)}",
            "path": path,
        }

    @staticmethod
    def invalid_option(options: tuple[str, ...], value: Any, path: list[Any]) -> dict[str, Any]:
        listed = " | ".join(f"'{name}'" for name in options)
        if not isinstance(value, str):  # ZodEnum checks the type first
            issue = _Zod3.invalid_type(listed, value, path)
            return issue
        return {
            "received": value,
            "code": "invalid_enum_value",
            "options": list(options),
            "path": path,
            "message": f"Invalid enum value. Expected {listed}, received '{value}'",
        }


# -- the parse --------------------------------------------------------------------------------------


def validate(shape: tuple[Field, ...], data: dict[str, Any], zod: int = 4) -> dict[str, Any]:
    """Parse ``data`` like ``z.object(shape)``; raise :class:`ValidationFailed` with every issue."""
    words = _Zod4 if zod >= 4 else _Zod3
    issues: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    for field in shape:
        value = data.get(field.name, MISSING)
        path: list[Any] = [field.name]
        if value is MISSING:
            if field.default is not MISSING:
                out[field.name] = field.default
            elif field.required:
                issues.append(
                    words.invalid_type("array" if field.kind in ("services", "strings") else field.kind, value, path)
                )
            continue
        if value is None and field.nullable:
            out[field.name] = None
            continue
        before = len(issues)
        if field.kind == "boolean":
            checked: Any = js_truthy(value)  # coerced: never fails
        elif field.kind == "number":
            checked = _number(field, value, path, issues, words)
        elif field.kind == "services":
            checked = _services(field, value, path, issues, words)
        elif field.kind == "strings":
            checked = _strings(field, value, path, issues, words)
        else:
            checked = _string(field, value, path, issues, words)
        if len(issues) == before:
            out[field.name] = checked
    if issues:
        raise ValidationFailed(issues)
    return out


def _string(field: Field, value: Any, path: list[Any], issues: list[dict[str, Any]], words: Any) -> Any:
    if not isinstance(value, str):
        issues.append(words.invalid_type("string", value, path))
    elif field.min_length is not None and len(value) < field.min_length:
        issues.append(words.too_small("string", field.min_length, path))
    return value


def _number(field: Field, value: Any, path: list[Any], issues: list[dict[str, Any]], words: Any) -> Any:
    number = js_number(value)
    if not math.isfinite(number):
        issues.append(words.invalid_type("number", number, path))
    elif field.minimum is not None and number < field.minimum:
        issues.append(words.too_small("number", field.minimum, path))
    elif field.maximum is not None and number > field.maximum:
        issues.append(words.too_big(field.maximum, path))
    return _plain(number) if math.isfinite(number) else number


def _services(field: Field, value: Any, path: list[Any], issues: list[dict[str, Any]], words: Any) -> Any:
    if not isinstance(value, list):
        issues.append(words.invalid_type("array", value, path))
        return value
    result: list[dict[str, str]] = []
    for index, item in enumerate(value):
        item_path = [*path, index]
        if not isinstance(item, dict):
            issues.append(words.invalid_type("object", item, item_path))
            continue
        service_id = item.get("id", MISSING)
        if not isinstance(service_id, str):
            issues.append(words.invalid_type("string", service_id, [*item_path, "id"]))
        service_type = item.get("type", MISSING)
        if service_type not in field.options:
            issues.append(words.invalid_option(field.options, service_type, [*item_path, "type"]))
        result.append({"id": service_id, "type": service_type})  # unknown keys stripped
    return result


def _strings(field: Field, value: Any, path: list[Any], issues: list[dict[str, Any]], words: Any) -> Any:
    if not isinstance(value, list):
        issues.append(words.invalid_type("array", value, path))
        return value
    for index, item in enumerate(value):
        _string(field, item, [*path, index], issues, words)
    return list(value)
