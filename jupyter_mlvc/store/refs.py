"""How users name snapshots: ids and prefixes, HEAD, HEAD~N, branches and tags."""

from __future__ import annotations

import re

from ..errors import BadName, UnknownRef

MIN_PREFIX = 4
DEFAULT_BRANCH = "main"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,99}$")
_SUFFIX = re.compile(r"(~\d*|\^)$")
_HEX = re.compile(r"^[0-9a-f]+$")


def split_ref(ref: str) -> tuple[str, int]:
    """``"main~2"`` -> ``("main", 2)``; ``"HEAD^"`` -> ``("HEAD", 1)``."""
    if not isinstance(ref, str) or not ref.strip():
        raise UnknownRef("a ref is needed: a snapshot id, HEAD, HEAD~N, a branch or a tag")
    base = ref.strip()
    steps = 0
    while True:
        m = _SUFFIX.search(base)
        if not m or m.start() == 0:
            break
        token = m.group(1)
        steps += 1 if token in ("~", "^") else int(token[1:])
        base = base[: m.start()]
    return base, steps


def is_id_prefix(text: str) -> bool:
    return len(text) >= MIN_PREFIX and bool(_HEX.match(text.lower()))


def check_name(name: str, kind: str) -> str:
    """A valid branch or tag name, or ``BadName`` saying why not."""
    # fullmatch: with match, "$" would let a name end in a newline.
    if (
        not isinstance(name, str)
        or not _NAME.fullmatch(name)
        or name.upper() == "HEAD"
        or ".." in name
    ):
        raise BadName(
            f"{name!r} is not a valid {kind} name: use letters, digits, '_', '-', '.', '/' "
            "(not HEAD, up to 100 characters)"
        )
    return name
