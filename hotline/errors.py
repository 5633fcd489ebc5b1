"""Domain errors carry their HTTP status and a bilingual message."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can understand; routers turn it into a JSON error."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message_zh: str, message_en: str, status_code: int | None = None) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        if status_code is not None:
            self.status_code = status_code

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "detail": f"{self.message_zh} / {self.message_en}",
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"
