"""Domain errors: raised by the rules, turned into HTTP replies in one place (api/errors.py)
and into CLI messages in cli.py."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule; names the field that is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    def __init__(self, message: str, **context: object):
        super().__init__(message)
        self.context = context
