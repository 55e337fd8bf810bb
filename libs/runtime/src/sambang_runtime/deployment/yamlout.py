"""A small YAML writer for the manifests: block style, yamllint-clean, no PyYAML at run time.

The runtime does not depend on PyYAML (the image installs ``requirements/base.txt`` only), and what the
manifests hold is plain data: mappings, lists, strings, numbers, booleans. Strings that YAML would read
as something else (``true``, ``8000``, ``"on"``, ``a: b``) are written double-quoted (JSON's escaping is
valid YAML); a string with line breaks is a literal block (``|``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: Characters a plain scalar may hold here; anything else is quoted.
_PLAIN = re.compile(r"^(?:-(?=[^ ])|[A-Za-z0-9_/.$(])[A-Za-z0-9_ ./:@=,+*${}()\[\]<>-]*$")
#: Plain scalars YAML 1.1 or 1.2 would read as booleans, null or numbers.
_SPECIAL = re.compile(
    r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~"
    r"|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
    r"|0[xob][0-9a-fA-F_]+|[0-9:]+)$"
)


def scalar(value: object) -> str:
    """One scalar as YAML reads it back unchanged."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if (
        _PLAIN.match(text)
        and not _SPECIAL.match(text)
        and ": " not in text
        and " #" not in text
        and not text.endswith((" ", ":"))
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def _block(text: str, indent: int) -> list[str]:
    pad = " " * indent
    keep = "" if text.endswith("\n") else "-"
    body = text[:-1] if text.endswith("\n") else text
    return [f"|{keep}", *[(pad + line) if line else "" for line in body.split("\n")]]


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            out += _entry(f"{pad}{scalar(key)}:", item, indent)
        return out
    for item in value:
        if (isinstance(item, Mapping) and item) or (isinstance(item, Sequence) and not isinstance(item, str) and item):
            inner = _lines(item, indent + 2)
            out.append(f"{pad}- {inner[0].lstrip()}")
            out += inner[1:]
        else:
            out += _entry(f"{pad}-", item, indent)
    return out


def _entry(head: str, item: Any, indent: int) -> list[str]:
    if isinstance(item, Mapping):
        return [f"{head} {{}}"] if not item else [head, *_lines(item, indent + 2)]
    if isinstance(item, Sequence) and not isinstance(item, str):
        return [f"{head} []"] if not item else [head, *_lines(item, indent + 2)]
    if isinstance(item, str) and "\n" in item:
        first, *rest = _block(item, indent + 2)
        return [f"{head} {first}", *rest]
    return [f"{head} {scalar(item)}"]


def dump(*documents: Any, comment: str = "") -> str:
    """Documents as one YAML stream (``---`` between them), after ``comment`` lines (``# ...``)."""
    parts = ["\n".join(_lines(doc, 0)) + "\n" for doc in documents]
    return comment + "---\n".join(parts)
