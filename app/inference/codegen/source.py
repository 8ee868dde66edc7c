"""Writing Python source that `ruff format` leaves as it is: literals, calls, shape comments."""

from __future__ import annotations

import json
from collections.abc import Sequence

LINE_LENGTH = 88  # ruff format's default
INDENT = "    "


def literal(value: object) -> str:
    """A Python literal in the formatter's style: double-quoted strings, tuples, floats."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        items = ", ".join(literal(item) for item in value)
        if isinstance(value, list):
            return f"[{items}]"
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def shape(sample: Sequence[int]) -> str:
    """A batch of samples' shape as a comment reads it: (16, 5, 5) → '(B, 16, 5, 5)'."""
    return "(" + ", ".join(["B", *(str(size) for size in sample)]) + ")"


def arguments(*positional: object, **keywords: object) -> list[str]:
    """Rendered call arguments: positional literals, then `name=value` for each keyword."""
    rendered = [literal(value) for value in positional]
    return rendered + [f"{name}={literal(value)}" for name, value in keywords.items()]


def call(function: str, args: Sequence[str], indent: int, suffix: str = "") -> list[str]:
    """`function(args)` at `indent` levels, split over lines as ruff format would split it.

    `args` are rendered source (a nested call's lines come pre-joined); `suffix` follows the
    closing parenthesis (a comma). One line if it fits; else the arguments on one inner line;
    else one per line with a trailing comma.
    """
    pad = INDENT * indent
    one_line = f"{pad}{function}({', '.join(args)}){suffix}"
    if len(one_line) <= LINE_LENGTH and "\n" not in one_line:
        return [one_line]
    inner = f"{pad}{INDENT}{', '.join(args)}"
    if len(inner) <= LINE_LENGTH and "\n" not in inner:
        return [f"{pad}{function}(", inner, f"{pad}){suffix}"]
    lines = [f"{pad}{function}("]
    for arg in args:
        lines.extend(f"{pad}{INDENT}{part}" for part in f"{arg},".split("\n"))
    return [*lines, f"{pad}){suffix}"]


def with_comment(lines: list[str], comment: str, indent: int) -> list[str]:
    """Put `# comment` after the last line if it fits within the line length, else above."""
    last = f"{lines[-1]}  # {comment}"
    if len(last) <= LINE_LENGTH:
        return [*lines[:-1], last]
    return [f"{INDENT * indent}# {comment}", *lines]
