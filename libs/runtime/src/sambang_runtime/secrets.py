"""Fail closed: the keys a production process needs, checked before it serves anything.

A production start with a key that is missing, too short or one of the development values published in
this repository stops at once with one line naming the variable (``StartRefused``), so an office can
never go live on the demo keys by forgetting one.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PUBLISHED", "StartRefused", "published_values", "require_secret"]

#: Development values anyone can read in this repository (filled in by the modules that define them).
PUBLISHED: set[str] = {"changeme", "secret", "password", "guest"}


class StartRefused(ValueError):
    """A production start refused for a missing, short or published key: ``str(error)`` is the one line."""


def published_values(*values: str) -> None:
    """Record development values shipped in the repository, so production refuses them."""
    PUBLISHED.update(values)


def require_secret(
    value: str | None,
    variable: str,
    *,
    purpose: str,
    min_bytes: int = 32,
    published: Iterable[str] = (),
) -> str:
    """``value`` if it is fit for production, else ``StartRefused`` naming ``variable`` and why.

    ``min_bytes`` counts the raw text; a value that is published (here or in ``PUBLISHED``) is refused
    however long it is. Returns the value so settings can use it in place.
    """
    if value is None or not value.strip():
        raise StartRefused(f"{variable} is missing: production needs it ({purpose})")
    if value in PUBLISHED or value in set(published):
        raise StartRefused(f"{variable} is a published development value: generate a real one ({purpose})")
    if len(value.encode("utf-8")) < min_bytes:
        raise StartRefused(f"{variable} is too short: production needs at least {min_bytes} bytes ({purpose})")
    return value


def one_line(error: BaseException) -> str:
    """The line a refused start prints: the first complaint of a settings ``ValidationError`` without
    pydantic's decoration (the variable and why), or the error's own text."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        message = str(first.get("msg", ""))
        message = message.removeprefix("Value error, ")
        location = ".".join(str(p) for p in first.get("loc", ()))
        if location and first.get("type") != "value_error":
            # A field of the wrong shape: name the variable it is read from.
            return f"SAMBANG_{location.upper()}: {message}"
        return message
    return str(error).splitlines()[0] if str(error) else type(error).__name__
