"""Errors raised by the domain when a rule would be broken."""


class DomainError(Exception):
    """Base class of every rule violation the domain refuses."""


class IllegalTransition(DomainError):
    """A strategy was asked to move between two statuses the transition table does not link."""


class PoolError(DomainError):
    """The ACTIVE pool was asked something inconsistent with its membership."""
