"""FQN rules must match OpenMetadata's byte for byte, or names built by its SDK will not resolve."""

import pytest

from headwater.identity import FqnError, build, quote_name, split, unquote_name


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("orders", "orders"),
        ("a.b", '"a.b"'),
        ('"ab"', "ab"),
        ('"a.b"', '"a.b"'),
        ("with space", "with space"),
    ],
)
def test_quote_name(name: str, quoted: str) -> None:
    assert quote_name(name) == quoted


@pytest.mark.parametrize("bad", ['a"b', '"a"b"', ""])
def test_quote_name_rejects_stray_quotes(bad: str) -> None:
    with pytest.raises(FqnError):
        quote_name(bad)


def test_split_keeps_quotes_on_dotted_parts() -> None:
    assert split('svc.db."my.schema".tbl') == ["svc", "db", '"my.schema"', "tbl"]
    assert unquote_name('"my.schema"') == "my.schema"


@pytest.mark.parametrize("bad", ["svc..tbl", 'svc."open', "", ".x", 'a.b"c.d'])
def test_split_rejects_malformed(bad: str) -> None:
    with pytest.raises(FqnError):
        split(bad)


def test_build_round_trips_through_split() -> None:
    fqn = build("pg", "shop", "public", "orders.v2")
    assert fqn == 'pg.shop.public."orders.v2"'
    assert [unquote_name(p) for p in split(fqn)] == ["pg", "shop", "public", "orders.v2"]
