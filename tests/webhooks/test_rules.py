"""The plain parts: signatures, the retry schedule, Retry-After, and which addresses may
receive webhooks."""

import base64
import ipaddress
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from app.webhooks import schedule, signing, urls

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class TestSigning:
    def test_secret_is_whsec_and_32_random_bytes(self):
        secret = signing.new_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert signing.new_secret() != secret

    @given(
        data=st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=4),
        msg_id=st.uuids().map(str),
        event_type=st.sampled_from(["loan.disbursed", "subsidy.claim.paid"]),
    )
    def test_reference_library_verifies_what_we_sign(self, data, msg_id, event_type):
        import orjson

        secret = signing.new_secret()
        body = signing.message_body(event_type, NOW, orjson.dumps(data).decode())
        timestamp = int(datetime.now(UTC).timestamp())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                [signing.secret_key(secret)], msg_id, timestamp, body
            ),
        }
        payload = Webhook(secret).verify(body, headers)
        assert payload == {
            "type": event_type,
            "timestamp": "2026-11-22T16:00:00+08:00",
            "data": data,
        }

    def test_tampering_with_body_id_or_secret_is_detected(self):
        secret = signing.new_secret()
        body = signing.message_body("loan.disbursed", NOW, '{"principal": "1000000.00"}')
        timestamp = int(datetime.now(UTC).timestamp())
        signature = signing.signature_header([signing.secret_key(secret)], "e1", timestamp, body)
        headers = {"webhook-id": "e1", "webhook-timestamp": str(timestamp)}
        good = {**headers, "webhook-signature": signature}
        Webhook(secret).verify(body, good)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.replace(b"1000000.00", b"9000000.00"), good)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, {**good, "webhook-id": "e2"})
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.new_secret()).verify(body, good)

    def test_body_keeps_the_stored_json_exactly(self):
        body = signing.message_body("loan.disbursed", NOW, '{"rate": 2.90, "amount": "1.00"}')
        assert body == (
            b'{"type":"loan.disbursed","timestamp":"2026-11-22T16:00:00+08:00",'
            b'"data":{"rate": 2.90, "amount": "1.00"}}'
        )


SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]


class TestRetrySchedule:
    @given(attempts=st.integers(1, len(SCHEDULE)), seed=st.integers(0, 2**32))
    def test_delay_is_the_schedule_within_jitter(self, attempts, seed):
        at = schedule.next_attempt_at(
            attempts_made=attempts,
            now=NOW,
            schedule=SCHEDULE,
            jitter=0.1,
            rng=random.Random(seed),
        )
        delay = (at - NOW).total_seconds()
        assert SCHEDULE[attempts - 1] * 0.9 <= delay <= SCHEDULE[attempts - 1] * 1.1

    def test_after_the_last_retry_there_is_no_next_attempt(self):
        assert (
            schedule.next_attempt_at(
                attempts_made=len(SCHEDULE) + 1, now=NOW, schedule=SCHEDULE, jitter=0.1
            )
            is None
        )

    def test_a_longer_retry_after_wins_a_shorter_one_does_not(self):
        longer = schedule.next_attempt_at(
            attempts_made=1, now=NOW, schedule=SCHEDULE, jitter=0, retry_after_s=120
        )
        shorter = schedule.next_attempt_at(
            attempts_made=2, now=NOW, schedule=SCHEDULE, jitter=0, retry_after_s=120
        )
        assert longer == NOW + timedelta(seconds=120)
        assert shorter == NOW + timedelta(seconds=300)

    @pytest.mark.parametrize(
        ("header", "seconds"),
        [
            ("120", 120.0),
            (" 7 ", 7.0),
            (format_datetime(NOW + timedelta(hours=2), usegmt=True), 7200.0),
            (format_datetime(NOW - timedelta(hours=2), usegmt=True), 0.0),
            ("999999999", schedule.MAX_RETRY_AFTER_S),
            ("soon", None),
            ("-5", None),
            (None, None),
        ],
    )
    def test_retry_after_is_seconds_or_an_http_date(self, header, seconds):
        assert schedule.parse_retry_after(header, NOW) == seconds


class TestAddresses:
    @pytest.mark.parametrize(
        ("address", "reason"),
        [
            ("127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("fd00::1", "private"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("0.0.0.0", "unspecified"),  # noqa: S104 - refused, not bound
            ("::", "unspecified"),
            ("240.0.0.1", "reserved"),
            ("100.64.0.1", "not publicly routable"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
        ],
    )
    def test_non_public_addresses_are_refused(self, address, reason):
        assert urls.blocked_reason(ipaddress.ip_address(address)) == reason

    @pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111"])
    def test_public_addresses_are_allowed(self, address):
        assert urls.blocked_reason(ipaddress.ip_address(address)) is None

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            ("ftp://example.com/x", "http or https"),
            ("https://user:pw@example.com/x", "credentials"),
            ("https://example.com/x#frag", "fragment"),
            ("http:///x", "no host"),
            ("not a url at all", "http or https"),
            ("https://example.com/" + "a" * 2100, "longer than"),
        ],
    )
    def test_malformed_urls_are_refused(self, url, why):
        with pytest.raises(urls.UnsafeUrl, match=why):
            urls.parse(url)

    def test_a_hostname_is_pinned_to_the_address_that_was_checked(self):
        url = urls.parse("https://hooks.example.com:8443/in?x=1")
        target = urls.pin(url, ipaddress.ip_address("93.184.215.14"))
        assert target.url == httpx.URL("https://93.184.215.14:8443/in?x=1")
        assert target.headers == {"Host": "hooks.example.com:8443"}
        assert target.extensions == {"sni_hostname": "hooks.example.com"}
        v6 = urls.pin(
            urls.parse("http://hooks.example.com/in"), ipaddress.ip_address("2001:db8::1")
        )
        assert str(v6.url) == "http://[2001:db8::1]/in"
        assert v6.headers == {"Host": "hooks.example.com"} and v6.extensions == {}

    async def test_a_public_address_passes_without_a_lookup(self):
        target = await urls.destination(
            urls.parse("https://93.184.215.14:8443/hook"), allow_private=False
        )
        assert target.url == httpx.URL("https://93.184.215.14:8443/hook")
        assert target.headers == {}

    async def test_a_decimal_spelling_of_loopback_is_refused(self):
        with pytest.raises(urls.UnsafeUrl, match="loopback"):
            await urls.destination(urls.parse("http://2130706433/hook"), allow_private=False)

    async def test_localhost_is_refused_unless_private_is_allowed(self):
        with pytest.raises(urls.UnsafeUrl, match="loopback"):
            await urls.destination(urls.parse("http://localhost:9/hook"), allow_private=False)
        allowed = await urls.destination(urls.parse("http://localhost:9/h"), allow_private=True)
        assert allowed.url.host == "localhost"
