"""What a real phone can report: mobile user agents and possible model/OS combinations."""

from __future__ import annotations

import re
from functools import lru_cache

from attribo.collector.enrich import parse_user_agent

# Release ranges of the major OS versions shipped on phones (iOS 7 came in 2013, Android
# 4.4 the same year); anything outside, or far ahead of the newest release, is forged.
IOS_MAJOR_RANGE = (7, 26)
ANDROID_MAJOR_RANGE = (4, 16)
_APPLE_MODEL = re.compile(r"^(iPhone|iPad|iPod)(\d+),(\d+)$")
MAX_APPLE_GENERATION = 18  # iPhone17,x was the newest in 2025
_SCRIPT_AGENTS = ("python-requests", "curl/", "okhttp", "go-http-client", "headlesschrome", "wget")


@lru_cache(maxsize=65_536)  # agents repeat heavily, as in enrichment
def is_script_agent(user_agent: str | None) -> bool:
    """Whether a user agent is an HTTP library or a headless browser (no person clicks so)."""
    lowered = (user_agent or "").lower()
    return any(marker in lowered for marker in _SCRIPT_AGENTS)


def is_mobile_agent(user_agent: str | None, mobile_os: tuple[str, ...]) -> bool:
    """Whether a user agent names a mobile OS and no scripting client or headless browser."""
    if not user_agent:
        return False
    if is_script_agent(user_agent):
        return False
    return parse_user_agent(user_agent).os_name in mobile_os


def _major(version: str | None) -> int | None:
    if not version:
        return None
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def impossible_device(
    platform: str | None, model: str | None, os_version: str | None
) -> str | None:
    """Why a device's parameters cannot be real, or None when they can."""
    major = _major(os_version)
    apple = _APPLE_MODEL.match(model) if model else None
    if platform == "ios":
        if model and not model.startswith(("iPhone", "iPad", "iPod")):
            return f"an iOS device reports the non-Apple model {model}"
        if apple and int(apple.group(2)) > MAX_APPLE_GENERATION:
            return f"no Apple device is called {model}"
        if major is not None and not IOS_MAJOR_RANGE[0] <= major <= IOS_MAJOR_RANGE[1]:
            return f"iOS {os_version} does not exist on phones"
    elif platform == "android":
        if model and model.startswith(("iPhone", "iPad", "iPod")):
            return f"an Android device reports the Apple model {model}"
        if major is not None and not ANDROID_MAJOR_RANGE[0] <= major <= ANDROID_MAJOR_RANGE[1]:
            return f"Android {os_version} does not exist on phones"
    return None
