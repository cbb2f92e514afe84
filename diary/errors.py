"""JSON errors everywhere: {"error": {"code", "message", "fields"?}} (SPEC §8)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from flask_wtf.csrf import CSRFError
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import HTTPException

# The message of a 422 whose `fields` say what to change (each in diary/schemas.py's words).
INVALID_FIELDS = "Some of what was entered needs a change: see the message by each field."

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class APIError(Exception):
    """An error the API answers with; raise it from services and views."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.fields = fields
        self.headers = headers or {}


def not_found(what: str = "Not found") -> APIError:
    return APIError(404, what)


def invalid(field: str, message: str) -> APIError:
    """A 422 that names one field, for checks that need the database."""
    return APIError(422, "The request has invalid fields.", fields={field: [message]})


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(metadata={"description": "Field name → list of messages"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    fields: dict | None = None,
    headers: dict | None = None,
):
    body: dict[str, Any] = {"code": code or _CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: Any) -> dict[str, Any]:
    # webargs nests messages by location ({"json": {...}, "query": {...}}).
    if isinstance(messages, dict):
        merged: dict[str, Any] = {}
        for location in ("json", "query", "view_args", "form", "headers"):
            if isinstance(messages.get(location), dict):
                merged.update(messages[location])
        return merged or messages
    return {"_schema": messages}


def _handle_api_error(exc: APIError):
    return error_response(exc.status, exc.message, exc.code, exc.fields, exc.headers)


def _handle_validation(exc: ValidationError):
    return error_response(422, INVALID_FIELDS, fields=_normalise(exc.messages))


def _normalise(messages: Any) -> dict[str, Any]:
    if isinstance(messages, dict):
        return messages
    return {"_schema": messages}


def _handle_csrf(exc: CSRFError):
    return error_response(
        403,
        "Missing or invalid CSRF token: fetch GET /api/v1/session and send its csrf_token "
        "in the X-CSRF-Token header.",
        code="csrf_failed",
    )


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    if status == 422 and "messages" in data:
        return error_response(422, INVALID_FIELDS, fields=_flatten_webargs(data["messages"]))
    message = exc.description or exc.name
    if status == 400 and "messages" in data:
        message = "The request body is not valid JSON."
    response = error_response(status, message)
    if status == 405:
        allow = getattr(exc, "valid_methods", None)
        if allow:
            response.headers["Allow"] = ", ".join(sorted(allow))
    return response


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    # The route, not the path: a path may carry a secret (a password link's token).
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    log.exception("unhandled error on %s %s", request.method, route)
    return error_response(500, "Internal error; it has been logged.")


def require_json_body() -> Any:
    """415 for a request body that is not JSON where JSON is expected (SPEC §9)."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    if not request.path.startswith("/api/"):
        return None
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
    if has_body and not request.is_json:
        return error_response(
            415, "The request body must be JSON (Content-Type: application/json)."
        )
    if has_body:
        # Decoded and checked once, here, for every endpoint (bodies.CheckedRequest),
        # whether or not its view reads a body; the views' schemas get the cached value.
        request.get_json()
    return None


def init_app(app: Flask) -> None:
    app.register_error_handler(APIError, _handle_api_error)
    app.register_error_handler(ValidationError, _handle_validation)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
