"""Outbound requests to user-chosen URLs never reach internal addresses (goldsocial/outbound.py)."""

import pytest
import requests

from goldsocial.outbound import OutboundRefused, address_refusal, guarded_session, url_refusal


@pytest.mark.parametrize(("address", "says"), [
    ("127.0.0.1", "loopback"),
    ("127.1.2.3", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("fc00::1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104
    ("::", "unspecified"),
    ("240.0.0.1", "private"),  # reserved, which Python also counts as private
    ("100.64.0.1", "not a public address"),  # carrier-grade NAT
    ("2002:7f00:1::", "carries 127.0.0.1"),  # 6to4 around a loopback address
])
def test_it_refuses_addresses_that_are_not_public(settings, address, says):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    refusal = address_refusal(address)
    assert refusal is not None and says in refusal


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_it_allows_public_addresses(settings, address):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert address_refusal(address) is None


def test_it_exempts_the_allowed_networks_only(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert address_refusal("127.0.0.1") is None
    assert address_refusal("::ffff:127.0.0.1") is None  # the same address on a dual-stack socket
    assert "loopback" in address_refusal("::1")
    assert "private" in address_refusal("10.0.0.1")


@pytest.mark.parametrize(("url", "says"), [
    ("https://127.0.0.1/x", "127.0.0.1 is a loopback address"),
    ("https://[::1]/x", "::1 is a loopback address"),
    ("https://10.0.0.1/x", "10.0.0.1 is a private address"),
    ("https://169.254.169.254/latest/meta-data/",
     "169.254.169.254 is a link-local address (where cloud metadata services answer)"),
    ("http://0x7f000001/", "0x7f000001 resolves to 127.0.0.1, a loopback address"),  # what resolvers accept
    ("https://localhost/x", "localhost resolves to 127.0.0.1, a loopback address"),
])
def test_it_names_the_reason_a_url_is_refused(settings, url, says):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert url_refusal(url) == says


def test_it_leaves_names_that_do_not_resolve_to_the_connection(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert url_refusal("https://push.example.test/send/abc") is None


@pytest.fixture
def loopback_server():
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    server.expect_request("/").respond_with_data("inside")
    yield server
    server.stop()


def test_it_refuses_to_connect_to_a_refused_address(settings, loopback_server):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with guarded_session() as session, pytest.raises(OutboundRefused, match="127.0.0.1 is a loopback address"):
        session.get(loopback_server.url_for("/"), timeout=2)
    assert loopback_server.log == []


def test_it_refuses_a_name_that_resolves_to_a_refused_address(settings, loopback_server):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    url = f"http://localhost:{loopback_server.port}/"
    with guarded_session() as session, pytest.raises(OutboundRefused, match="localhost resolves to 127.0.0.1"):
        session.get(url, timeout=2)
    assert loopback_server.log == []


def test_it_connects_to_an_allowed_network(settings, loopback_server):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with guarded_session() as session:
        assert session.get(f"http://localhost:{loopback_server.port}/", timeout=2).text == "inside"


def test_it_checks_each_redirect_again(settings, loopback_server):
    from pytest_httpserver import HTTPServer

    # 127.0.0.2 stands for an internal host: on loopback, so that nothing leaves the machine
    # even if the check were missing.
    inside = HTTPServer(host="127.0.0.2", port=0)
    inside.start()
    try:
        inside.expect_request("/secret").respond_with_data("secret")
        loopback_server.expect_request("/go").respond_with_data(
            "", status=302, headers={"Location": inside.url_for("/secret")})
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        with guarded_session() as session, pytest.raises(OutboundRefused, match="127.0.0.2 is a loopback"):
            session.get(loopback_server.url_for("/go"), timeout=2)
        assert inside.log == []
    finally:
        inside.stop()


def test_it_only_speaks_the_schemes_it_was_given(settings, loopback_server):
    with guarded_session(schemes=("https",)) as session, pytest.raises(requests.exceptions.InvalidSchema):
        session.get(loopback_server.url_for("/"), timeout=2)
    assert loopback_server.log == []


def test_it_does_not_go_through_a_proxy_from_the_environment(settings, loopback_server, monkeypatch):
    # A proxy would resolve the name itself, where the check cannot see it.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with guarded_session() as session:
        assert session.get(loopback_server.url_for("/"), timeout=2).text == "inside"
