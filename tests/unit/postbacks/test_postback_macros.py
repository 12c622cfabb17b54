"""Macro rendering: every value is percent-encoded, missing values are empty, unknowns refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribo.postbacks.macros import (
    MACROS,
    UnknownMacro,
    check_template,
    format_value,
    macros_in,
    render,
)

SPEC_MACROS = {
    "click_id", "idfa", "gaid", "idfv", "android_id", "event_name", "revenue", "currency",
    "campaign", "campaign_id", "adset", "ad", "site_id", "network", "install_time",
    "event_time", "country", "platform", "ip", "app_id", "event_id", "match",
}  # fmt: skip


def test_the_macro_set_is_exactly_the_documented_one() -> None:
    assert MACROS == SPEC_MACROS


def test_renders_values_url_encoded() -> None:
    url = "https://n.example/pb?c={click_id}&camp={campaign}&r={revenue}&cur={currency}"
    out = render(url, {"click_id": "a b&c=d/e?f#g", "campaign": "Été 2026+", "revenue": 4.99,
                       "currency": "EUR"})  # fmt: skip
    assert out == (
        "https://n.example/pb?c=a%20b%26c%3Dd%2Fe%3Ff%23g&camp=%C3%89t%C3%A9%202026%2B"
        "&r=4.99&cur=EUR"
    )
    assert parse_qs(urlsplit(out).query)["c"] == ["a b&c=d/e?f#g"]


def test_missing_and_none_values_render_empty() -> None:
    assert render("x?i={idfa}&g={gaid}&m={match}", {"gaid": None}) == "x?i=&g=&m="


def test_same_macro_twice_and_text_around_it() -> None:
    assert render("{network}-{network}!", {"network": "fb"}) == "fb-fb!"


def test_json_braces_are_not_macros() -> None:
    body = '{"click": "{click_id}", "n": {"x": 1}}'
    check_template("body", body)
    assert macros_in(body) == ["click_id"]
    assert render(body, {"click_id": 'q"u'}) == '{"click": "q%22u", "n": {"x": 1}}'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.0, "2"),
        (0.1, "0.1"),
        (float("nan"), ""),
        ("ios", "ios"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05Z"),
        (
            datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-01-02T03:04:05Z",
        ),
        (1_767_323_045_000, "1767323045000"),
    ],
)
def test_value_formatting(value: object, text: str) -> None:
    assert format_value(value) == text


def test_unknown_macros_are_rejected_naming_the_field() -> None:
    with pytest.raises(UnknownMacro) as info:
        check_template("url", "https://x/?a={click_id}&b={clickid}&c={secret}&d={clickid}")
    assert info.value.field == "url"
    assert info.value.names == ["clickid", "secret"]
    assert "{clickid}" in str(info.value)


def test_every_known_macro_is_accepted() -> None:
    check_template("url", "https://x/?" + "&".join(f"{m}={{{m}}}" for m in sorted(MACROS)))


@given(st.text())
def test_a_rendered_value_never_adds_url_structure(value: str) -> None:
    out = render("https://h.example/p?v={click_id}", {"click_id": value})
    parts = urlsplit(out)
    assert parts.netloc == "h.example"
    assert parts.path == "/p"
    assert parse_qs(parts.query, keep_blank_values=True) == (
        {"v": [value]} if value else {"v": [""]}
    )
