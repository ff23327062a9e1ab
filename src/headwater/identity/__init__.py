"""Turning external names into one asset: FQN rules shared by every API dialect."""

from headwater.identity.fqn import FqnError, build, join, quote_name, split, unquote_name

__all__ = ["FqnError", "build", "join", "quote_name", "split", "unquote_name"]
