"""OpenMetadata fully qualified names: dotted parts, a part containing a dot is double-quoted.

Mirrors OpenMetadata's `FullyQualifiedName.quoteName` and its FQN grammar so that names built by
its SDK and by headwater are byte-identical.
"""


class FqnError(ValueError):
    """A name or FQN that cannot be quoted or split (e.g. a stray double quote)."""


def quote_name(name: str) -> str:
    """Quote one name part: `a.b` -> `"a.b"`, `"ab"` -> `ab`; a stray `"` is invalid."""
    if not name:
        raise FqnError("Invalid name: an FQN part must not be empty")
    quoted = len(name) >= 2 and name.startswith('"') and name.endswith('"')
    inner = name[1:-1] if quoted else name
    if '"' in inner:
        raise FqnError(f"Invalid name {name!r}: a double quote may only wrap the whole name")
    if "." in inner:
        return f'"{inner}"'
    return inner


def unquote_name(part: str) -> str:
    """The plain name of one FQN part (`"a.b"` -> `a.b`)."""
    if len(part) >= 2 and part.startswith('"') and part.endswith('"'):
        return part[1:-1]
    return part


def split(fqn: str) -> list[str]:
    """Split an FQN into its parts, keeping quotes on quoted parts (as OpenMetadata's `fqn.split`)."""
    if not fqn:
        raise FqnError("Invalid FQN: empty")
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    for ch in fqn:
        if ch == '"':
            in_quotes = not in_quotes
            current.append(ch)
        elif ch == "." and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if in_quotes:
        raise FqnError(f"Invalid FQN {fqn!r}: unbalanced double quote")
    parts.append("".join(current))
    for part in parts:
        if not part:
            raise FqnError(f"Invalid FQN {fqn!r}: empty part")
        inner = unquote_name(part)
        if '"' in inner:
            raise FqnError(f"Invalid FQN {fqn!r}: a double quote may only wrap a whole part")
    return parts


def join(*parts: str) -> str:
    """Join already-quoted parts."""
    return ".".join(parts)


def build(*names: str) -> str:
    """Build an FQN from plain names, quoting each as needed."""
    return ".".join(quote_name(n) for n in names)
