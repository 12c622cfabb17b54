"""`to_record`: ids normalised, user agent parsed, country from the IP, defaults applied."""

from __future__ import annotations

import json

import msgspec
import pytest

from attribo.collector.enrich import country_of, parse_user_agent
from attribo.collector.records import advertising_id, to_record
from attribo.events.types import Event

NOW = 1_750_000_000_000
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)
ZERO_ID = "00000000-0000-0000-0000-000000000000"


def make(**fields) -> Event:
    body = {"event_id": "e1", "type": "install", "app_id": "app", "timestamp": NOW - 5}
    body.update(fields)
    return msgspec.convert(body, Event)


def record(**fields):
    return to_record(make(**fields), NOW)


def test_core_fields_and_times():
    rec = to_record(make(), NOW, signed=True, link_id="lnk")
    assert (rec.app_id, rec.event_id, rec.type) == ("app", "e1", "install")
    assert (rec.event_time, rec.received_at) == (NOW - 5, NOW)
    assert rec.signed is True and rec.link_id == "lnk"
    assert rec.platform is None and rec.country is None and rec.currency is None


def test_rfc3339_timestamp_becomes_epoch_ms():
    assert record(timestamp="2024-03-01T12:00:00+02:00").event_time == 1_709_287_200_000


def test_advertising_ids_are_lower_cased():
    idfa = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
    gaid = "38400000-8CF0-11BD-B23E-10B96E40000D"
    rec = record(device={"idfa": idfa, "gaid": gaid, "idfv": "ABC-DEF", "android_id": "AB12"})
    assert rec.idfa == idfa.lower() and rec.gaid == gaid.lower()
    assert rec.idfv == "abc-def" and rec.android_id == "ab12"
    assert rec.limit_ad_tracking is None


@pytest.mark.parametrize("key", ["idfa", "gaid"])
def test_all_zero_advertising_id_means_limit_ad_tracking(key):
    rec = record(device={key: ZERO_ID})
    assert getattr(rec, key) is None
    assert rec.limit_ad_tracking is True


def test_explicit_limit_ad_tracking_is_kept_over_a_zero_id():
    rec = record(device={"idfa": ZERO_ID, "limit_ad_tracking": False})
    assert rec.idfa is None and rec.limit_ad_tracking is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), ("", None), ("0000", None), (" AbC ", "abc"), ("0-0", None), ("00a", "00a")],
)
def test_advertising_id(raw, expected):
    assert advertising_id(raw) == expected


def test_click_id_from_top_level_or_source():
    click = {"type": "click", "source": {"network": "meta", "click_id": "from-source"}}
    assert record(**click).click_id == "from-source"
    assert record(**click, click_id="top").click_id == "top"
    assert record(click_id="deep-link").click_id == "deep-link"


def test_source_fields_are_copied():
    source = {
        "network": "meta",
        "campaign": "c",
        "campaign_id": "cid",
        "adset": "as",
        "ad": "ad",
        "site_id": "s",
    }
    rec = record(type="impression", source=source)
    got = (rec.network, rec.campaign, rec.campaign_id, rec.adset, rec.ad, rec.site_id)
    assert got == ("meta", "c", "cid", "as", "ad", "s")


def test_iphone_user_agent():
    rec = record(device={"user_agent": IPHONE_UA})
    assert rec.user_agent == IPHONE_UA
    assert (rec.platform, rec.os_name, rec.os_version) == ("ios", "iOS", "17.4.1")
    assert (rec.device_model, rec.device_brand) == ("iPhone", "Apple")


def test_android_user_agent():
    rec = record(device={"user_agent": ANDROID_UA})
    assert (rec.platform, rec.os_name, rec.os_version) == ("android", "Android", "14")
    assert (rec.device_model, rec.device_brand) == ("SM-S918B", "Samsung")


def test_desktop_user_agent_is_web():
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
    facts = parse_user_agent(ua)
    assert facts.platform == "web" and facts.os_name == "Windows"


def test_unknown_user_agent_yields_nothing():
    assert parse_user_agent("curl/8.0") == (None, None, None, None, None)
    rec = record(device={"user_agent": "curl/8.0"})
    assert (rec.platform, rec.os_name, rec.device_model, rec.device_brand) == (None,) * 4


def test_explicit_device_fields_win_over_the_user_agent():
    device = {
        "user_agent": IPHONE_UA,
        "platform": "android",
        "os_version": "18.0",
        "model": "iPhone15,2",
    }
    rec = record(device=device)
    assert (rec.platform, rec.os_version, rec.device_model) == ("android", "18.0", "iPhone15,2")


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("81.2.69.160", "GB"),
        ("2001:4860:4860::8888", "US"),
        ("10.0.0.1", None),
        ("192.168.1.1", None),
        ("127.0.0.1", None),
        ("::1", None),
    ],
)
def test_country_from_ip(ip, country):
    rec = record(device={"ip": ip})
    assert rec.ip == ip
    assert rec.country == country


def test_country_of_garbage_or_missing_is_none():
    assert country_of(None) is None
    assert country_of("") is None
    assert country_of("not an ip") is None


def test_currency_defaults_to_usd_only_with_revenue():
    assert record(type="event", name="buy", revenue=1.0).currency == "USD"
    assert record(type="event", name="buy", revenue=0.0).currency == "USD"
    assert record(type="event", name="buy", revenue=1.0, currency="EUR").currency == "EUR"
    assert record(type="event", name="buy").currency is None
    assert record(type="event", name="buy", currency="EUR").revenue is None


def test_properties_are_stored_as_json_text():
    props = {"sku": "a-1", "qty": 2, "nested": {"ok": True, "list": [1.5, None]}}
    rec = record(type="event", name="buy", properties=props)
    assert isinstance(rec.properties, str)
    assert json.loads(rec.properties) == props
    assert record(type="event", name="buy").properties is None
