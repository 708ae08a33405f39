"""OpenAI's error body ``{"error": {"message", "type", "param", "code"}}``, sent and read."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answered with OpenAI's error body ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = (
            status,
            message,
            kind,
            param,
            code,
        )

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 for a request field that is wrong (``param`` names it)."""
    return ApiError(400, message, param=param, code=code)


def error_message(body: Any) -> str:
    """The message of an OpenAI error body ``{"error": {"message": ...}}`` ("" if none)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")
    return str(error or "")
