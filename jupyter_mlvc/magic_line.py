"""How a ``%mlvc`` line is read: split like a shell does, with ``$name`` replaced by a value.

IPython expands ``$name`` *and* ``{expression}`` in magic lines before the magic
runs, which makes every line a piece of code: ``-m "lr={lr*2}"`` would store
``lr=0.2``, and a line composed from data would run that data. ``%mlvc`` turns
IPython's expansion off and reads its line here instead:

- words are split as a POSIX shell splits them (``-m "first try"``, ``-m 'a b'``,
  ``\\`` escapes the next character outside single quotes);
- ``$name`` and ``${name}`` outside single quotes become ``str()`` of the variable
  ``name`` of the user's namespace. Only a plain variable name is looked up: no
  attribute, index or call is ever evaluated, and a substituted value is always
  part of one word (a value with spaces never becomes two arguments);
- ``$`` followed by anything else, ``\\$``, ``'$name'``, an unknown name and
  ``{...}`` are kept as they are.

>>> split_line('commit -m "acc $acc, {not code}" --metric acc=$acc', {"acc": 0.93})
['commit', '-m', 'acc 0.93, {not code}', '--metric', 'acc=0.93']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SPACE = frozenset(" \t\r\n\f\v")


class LineError(ValueError):
    """A line that cannot be split (an unclosed quote). Its message is one line."""


def split_line(line: str, namespace: Mapping[str, Any] | None = None) -> list[str]:
    """The words of ``line``, with ``$name`` replaced by values from ``namespace``."""
    ns = namespace if namespace is not None else {}
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote = ""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                word.append(c)
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            nxt = line[i + 1]
            # Inside double quotes a backslash escapes only what a shell lets it escape.
            if quote == '"' and nxt not in '"\\$':
                word.append(c)
            else:
                word.append(nxt)
            in_word = True
            i += 2
            continue
        if c == "$":
            value, used = _expand(line, i, ns)
            word.append(value)
            in_word = True
            i += used
            continue
        if quote == '"':
            if c == '"':
                quote = ""
            else:
                word.append(c)
            i += 1
            continue
        if c in "'\"":
            quote = c
            in_word = True
        elif c in _SPACE:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
        else:
            word.append(c)
            in_word = True
        i += 1
    if quote:
        kind = "single" if quote == "'" else "double"
        raise LineError(f"a {kind} quote is not closed")
    if in_word:
        words.append("".join(word))
    return words


def _expand(line: str, at: int, ns: Mapping[str, Any]) -> tuple[str, int]:
    """The text that ``$...`` at ``line[at]`` stands for, and how many characters it took."""
    m = _BRACED.match(line, at + 1) or _NAME.match(line, at + 1)
    if m is None:
        return "$", 1
    name = m.group(1) if m.re is _BRACED else m.group(0)
    if name not in ns:
        return line[at : m.end()], m.end() - at
    return str(ns[name]), m.end() - at


def one_line(text: str, limit: int = 200) -> str:
    """``text`` shown inside a one-line message: control characters escaped, cut at ``limit``."""
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text.strip()
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
