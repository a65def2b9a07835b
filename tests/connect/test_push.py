"""Push alerts through apprise: URLs only from the environment, never printed; failures named."""

from __future__ import annotations

import pytest

from connect.notify import NotifyError
from connect.push import apprise_urls, format_push, send_push
from engine.config import default_config
from engine.risk.expiry import PositionEvent


class FakeApprise:
    """Stand-in for the apprise module: records add() and notify() calls."""

    def __init__(self, accept=True, deliver=True):
        self.accept, self.deliver, self.added, self.sent = accept, deliver, [], []

    def Apprise(self):  # noqa: N802 - the module's class name
        return self

    def add(self, url):
        self.added.append(url)
        return self.accept

    def notify(self, title, body):
        self.sent.append((title, body))
        return self.deliver


def test_urls_from_the_environment_only():
    cfg = default_config()
    assert apprise_urls(cfg, env={"VOLARB_APPRISE_URLS": "tgram://bot/chat  discord://a/b,ntfy://t"}) == [
        "tgram://bot/chat",
        "discord://a/b",
        "ntfy://t",
    ]
    with pytest.raises(NotifyError, match="VOLARB_APPRISE_URLS"):
        apprise_urls(cfg, env={})
    other = cfg.replace(alerts__apprise_urls_env="MY_URLS")
    with pytest.raises(NotifyError, match="MY_URLS"):
        apprise_urls(other, env={"VOLARB_APPRISE_URLS": "ntfy://t"})


def test_send_and_failures_never_show_the_token():
    fake = FakeApprise()
    items = [
        PositionEvent("SHORT_ITM", "ASST 2025-12-19 P5 short", "in the money"),
        PositionEvent("SHORT_NEAR_EXPIRY", "ASST 2025-10-17 P2 short", "0 days"),
    ]
    title, body = format_push(items, default_config(), "2025-10-17")
    assert title == "[volarb] ASST 2025-10-17: 2 alerts (SHORT_ITM, SHORT_NEAR_EXPIRY)"
    assert body.splitlines() == [
        "SHORT_ITM [ASST 2025-12-19 P5 short]: in the money",
        "SHORT_NEAR_EXPIRY [ASST 2025-10-17 P2 short]: 0 days",
    ]
    assert send_push(title, body, ["tgram://SECRET/1"], apprise_module=fake) == {
        "sent": True,
        "services": ["tgram://"],
    }
    assert fake.sent == [(title, body)]
    with pytest.raises(NotifyError) as e:
        send_push(title, body, ["ntfy://ok", "bogus://SECRET"], apprise_module=FakeApprise(accept=False))
    assert "URL #1" in str(e.value) and "SECRET" not in str(e.value)
    with pytest.raises(NotifyError) as e:
        send_push(title, body, ["tgram://SECRET/1"], apprise_module=FakeApprise(deliver=False))
    assert "delivery failed" in str(e.value) and "SECRET" not in str(e.value)


def test_real_apprise_rejects_a_malformed_url_offline():
    """The installed apprise parses URLs locally (no network): an unknown scheme is refused."""
    pytest.importorskip("apprise")
    with pytest.raises(NotifyError, match="apprise cannot use this URL"):
        send_push("t", "b", ["notaservice://x"])
