"""One HTTP attempt at a postback, connecting to the address the SSRF guard approved."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import Final, Literal

import httpx

from attribo.postbacks.backoff import is_retryable_status, parse_retry_after
from attribo.postbacks.ssrf import IPAddress, Target

USER_AGENT: Final = "attribo-postback/1"
_ERROR_MAX: Final = 500  # keep the log readable when a library error is long

Verdict = Literal["delivered", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt achieved, and what the receiver asked of the next one."""

    verdict: Verdict
    http_status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


def new_client(
    timeout_s: float, concurrency: int, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """A client that never follows redirects or proxies (either would bypass the SSRF guard)."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        verify=verify,
        timeout=timeout_s,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        headers={"User-Agent": USER_AGENT},
    )


def content_type(body: str) -> str:
    """JSON for bodies that look like JSON, else a form body (the common postback shape)."""
    return (
        "application/json"
        if body.lstrip()[:1] in ("{", "[")
        else ("application/x-www-form-urlencoded")
    )


def pinned_request(
    client: httpx.AsyncClient,
    target: Target,
    address: IPAddress,
    method: str,
    url: str,
    body: str | None,
) -> httpx.Request:
    """A request to `url` that connects to `address`, keeping Host, SNI and certificate checks."""
    original = httpx.URL(url)
    headers = {"Host": original.netloc.decode("ascii")}
    if body is not None:
        headers["Content-Type"] = content_type(body)
    extensions: dict[str, object] = {}
    if target.scheme == "https":
        try:
            ipaddress.ip_address(target.host)
        except ValueError:  # a name: present it in SNI and verify the certificate against it
            extensions["sni_hostname"] = target.host
    return client.build_request(
        method,
        original.copy_with(host=str(address)),
        headers=headers,
        content=body.encode("utf-8") if body is not None else None,
        extensions=extensions,
    )


def _short(exc: BaseException) -> str:
    """A one-line description of a transport error for the delivery log."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_ERROR_MAX]


def classify(response: httpx.Response) -> Outcome:
    """2xx delivered; 5xx, 408 and 429 retried (with Retry-After); anything else is final."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome("delivered", status)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if is_retryable_status(status):
        return Outcome("retry", status, f"HTTP {status}", retry_after)
    reason = "redirect not followed" if 300 <= status < 400 else f"HTTP {status}"
    return Outcome("failed", status, reason)


async def send(
    client: httpx.AsyncClient, target: Target, method: str, url: str, body: str | None
) -> Outcome:
    """Make one attempt; never raises for network trouble, which is reported as a retry.

    Addresses are tried in resolver order, moving on only when a connection cannot be opened
    (so a host with IPv6 and IPv4 addresses still works where one family is unreachable).
    """
    outcome = Outcome("retry", None, "no address to connect to")
    for address in target.addresses:
        try:
            request = pinned_request(client, target, address, method, url, body)
            response = await client.send(request, stream=True)  # the body is never needed
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Outcome("failed", None, _short(exc))
        except httpx.ConnectError as exc:
            outcome = Outcome("retry", None, f"{address}: {_short(exc)}")
            continue
        except httpx.TimeoutException as exc:
            return Outcome("retry", None, f"timeout ({_short(exc)})")
        except httpx.RequestError as exc:
            return Outcome("retry", None, _short(exc))
        try:
            return classify(response)
        finally:
            await response.aclose()
    return outcome
