"""The client address behind trusted proxies: right-most untrusted X-Forwarded-For entry."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import ValidationError
from sambang_runtime.clientaddr import UNKNOWN, TrustedProxies, client_address, parse_hop
from sambang_runtime.settings import RuntimeSettings

FRONT_DOOR = "10.0.0.2"
proxies = TrustedProxies(["10.0.0.0/24", "fd00::/64"])


def test_a_trusted_chain_gives_the_right_most_untrusted_address() -> None:
    # client -> load balancer 10.0.0.9 -> front door 10.0.0.2 -> service
    assert proxies.client(FRONT_DOOR, ["203.0.113.7, 10.0.0.9"]) == "203.0.113.7"
    assert proxies.client(FRONT_DOOR, ["203.0.113.7"]) == "203.0.113.7"


def test_an_untrusted_peer_is_the_client_and_its_forged_header_is_ignored() -> None:
    assert proxies.client("198.51.100.4", ["1.2.3.4"]) == "198.51.100.4"
    assert proxies.client("198.51.100.4", ["10.0.0.9"]) == "198.51.100.4"


def test_entries_the_client_wrote_before_the_trusted_hop_are_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the front door appended the address it saw.
    assert proxies.client(FRONT_DOOR, ["1.2.3.4, 203.0.113.7"]) == "203.0.113.7"
    # Several headers count as one list, in order.
    assert proxies.client(FRONT_DOOR, ["1.2.3.4", "9.9.9.9, 203.0.113.7"]) == "203.0.113.7"
    # A forged trusted address before the real client's changes nothing either.
    assert proxies.client(FRONT_DOOR, ["10.0.0.9, 203.0.113.7"]) == "203.0.113.7"


def test_ipv6_peers_and_entries() -> None:
    assert proxies.client("fd00::2", ["2001:db8::1, fd00::9"]) == "2001:db8::1"
    assert proxies.client("fd00::2", ["2001:db8:0:0::1"]) == "2001:db8::1"  # one client, one key
    assert proxies.client("2001:db8::5", ["1.2.3.4"]) == "2001:db8::5"  # untrusted IPv6 peer
    assert proxies.client("::ffff:10.0.0.2", ["203.0.113.7"]) == "203.0.113.7"  # IPv4-mapped peer
    assert proxies.client(FRONT_DOOR, ["[2001:db8::1]:443"]) == "2001:db8::1"


def test_a_malformed_entry_stops_the_walk_at_the_last_good_hop() -> None:
    # Skipping "garbage" would let the walk reach 1.2.3.4, which the client wrote.
    assert proxies.client(FRONT_DOOR, ["1.2.3.4, garbage, 10.0.0.9"]) == "10.0.0.9"
    assert proxies.client(FRONT_DOOR, ["1.2.3.4, unknown"]) == FRONT_DOOR
    assert proxies.client(FRONT_DOOR, ["1.2.3.4, "]) == FRONT_DOOR  # an empty entry is malformed too
    assert proxies.client(FRONT_DOOR, ["1.2.3.4,,203.0.113.7"]) == "203.0.113.7"  # not reached


def test_requests_of_the_proxies_themselves_and_without_peer() -> None:
    assert proxies.client(FRONT_DOOR, []) == FRONT_DOOR
    assert proxies.client(FRONT_DOOR, ["10.0.0.9, 10.0.0.8"]) == "10.0.0.9"  # left-most trusted
    assert proxies.client(None, ["1.2.3.4"]) == UNKNOWN
    assert proxies.client("testclient", ["1.2.3.4"]) == "testclient"  # not an address: not trusted


def test_trusting_nobody_ignores_the_header() -> None:
    assert TrustedProxies().client(FRONT_DOOR, ["1.2.3.4"]) == FRONT_DOOR
    assert not TrustedProxies()


def test_hops_with_ports_and_garbage() -> None:
    assert str(parse_hop(" 203.0.113.7:51234 ")) == "203.0.113.7"
    assert parse_hop("[2001:db8::1") is None
    assert parse_hop("1.2.3.4.5") is None
    assert parse_hop("") is None


def test_settings_take_a_comma_separated_list_and_refuse_a_bad_cidr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMBANG_TRUSTED_PROXIES", "127.0.0.1, ::1/128,10.1.2.3/16")
    assert RuntimeSettings().trusted_proxies == ("127.0.0.1/32", "::1/128", "10.1.0.0/16")
    monkeypatch.setenv("SAMBANG_TRUSTED_PROXIES", "")
    assert RuntimeSettings().trusted_proxies == ()
    monkeypatch.setenv("SAMBANG_TRUSTED_PROXIES", "127.0.0.1,localhost")
    with pytest.raises(ValidationError, match="localhost"):
        RuntimeSettings()


async def test_client_address_reads_the_proxies_parsed_on_the_app() -> None:
    app = FastAPI()

    @app.get("/who")
    async def who(request: Request) -> str:
        return client_address(request)

    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 5000))
    forged = {"X-Forwarded-For": "1.2.3.4, 203.0.113.7"}
    async with httpx.AsyncClient(transport=transport, base_url="http://sambang.test") as client:
        assert (await client.get("/who", headers=forged)).json() == "10.0.0.2"  # no proxies on the app
        app.state.trusted_proxies = proxies
        assert (await client.get("/who", headers=forged)).json() == "203.0.113.7"
