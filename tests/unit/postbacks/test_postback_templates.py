"""Template validation and answer classification (no I/O)."""

from __future__ import annotations

import httpx
import pytest

from attribo.postbacks.sender import classify, content_type
from attribo.postbacks.templates import TemplateError, validate_template


def test_a_good_template_passes() -> None:
    validate_template("https://n.example/pb?c={click_id}&e={event_name}", "GET", None)
    validate_template("http://n.example:8080/pb", "POST", '{"gaid": "{gaid}"}')


@pytest.mark.parametrize(
    ("url", "method", "body", "field", "message"),
    [
        ("https://n.example/?x={nope}", "GET", None, "url", "{nope}"),
        ("https://n.example/", "POST", "a={click_id}&b={secret}", "body", "{secret}"),
        ("https://{site_id}.example/", "GET", None, "url", "host"),
        ("https://n.example:{ip}/", "GET", None, "url", "host"),
        ("{network}://n.example/", "GET", None, "url", "scheme"),
        ("ftp://n.example/", "GET", None, "url", "scheme"),
        ("https://n.example/", "PUT", None, "method", "GET or POST"),
    ],
)
def test_bad_templates_name_the_field(
    url: str, method: str, body: str | None, field: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message.replace("{", r"\{")) as info:
        validate_template(url, method, body)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("status", "headers", "verdict", "retry_after"),
    [
        (200, {}, "delivered", None),
        (204, {}, "delivered", None),
        (500, {}, "retry", None),
        (503, {"Retry-After": "7"}, "retry", 7.0),
        (429, {"Retry-After": "2"}, "retry", 2.0),
        (408, {}, "retry", None),
        (400, {}, "failed", None),
        (404, {}, "failed", None),
        (302, {"Location": "http://127.0.0.1/"}, "failed", None),
    ],
)
def test_answer_classification(
    status: int, headers: dict[str, str], verdict: str, retry_after: float | None
) -> None:
    outcome = classify(httpx.Response(status, headers=headers))
    assert outcome.verdict == verdict
    assert outcome.http_status == status
    assert outcome.retry_after_s == retry_after


def test_redirects_are_reported_as_not_followed() -> None:
    assert classify(httpx.Response(301)).error == "redirect not followed"


def test_body_content_type() -> None:
    assert content_type(' {"a": 1}') == "application/json"
    assert content_type("a=1&b=2") == "application/x-www-form-urlencoded"
