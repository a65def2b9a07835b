"""Push alerts through ``apprise`` URLs (Telegram, Discord, ntfy, Slack, Pushover, ...; extra ``push``).

The URLs carry their services' tokens, so they are read **only** from the environment variable
named by ``alerts.apprise_urls_env`` (default ``VOLARB_APPRISE_URLS``; several URLs separated
by spaces or commas), never from the config file, and never printed: messages name a URL by its
position and scheme (``#2 tgram://``).  E-mail stays in :mod:`connect.notify` (SMTP).

References
----------
apprise (https://github.com/caronc/apprise): ``Apprise.add(url)`` returns False for a URL it
cannot use; ``Apprise.notify(title=, body=)`` returns True when every service accepted it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from connect.notify import NotifyError

__all__ = ["apprise_urls", "format_push", "send_push"]


def apprise_urls(config, env: Mapping[str, str] | None = None) -> list[str]:
    """The apprise URLs from the environment variable ``alerts.apprise_urls_env``.

    Raises
    ------
    NotifyError
        The variable is unset or empty (named).

    Examples
    --------
    >>> from engine.config import default_config
    >>> apprise_urls(default_config(), env={"VOLARB_APPRISE_URLS": "ntfy://volarb-demo, tgram://x/y"})
    ['ntfy://volarb-demo', 'tgram://x/y']
    """
    env = os.environ if env is None else env
    var = config.alerts.apprise_urls_env
    urls = [u for u in re.split(r"[\s,]+", env.get(var, "") or "") if u]
    if not urls:
        raise NotifyError(
            f"alerts.channels has push but the environment variable {var} (alerts.apprise_urls_env) "
            "holding the apprise URLs is not set"
        )
    return urls


def format_push(items: Sequence[Any], config, valuation_date: str) -> tuple[str, str]:
    """Title and body of one push message: one line per alert (name, position, detail).

    >>> from engine.config import default_config
    >>> from engine.risk.expiry import PositionEvent
    >>> format_push([PositionEvent("SHORT_ITM", "ASST 2025-12-19 P5 short", "in the money")], default_config(),
    ...             "2025-10-17")[0]
    '[volarb] ASST 2025-10-17: 1 alert (SHORT_ITM)'
    """
    names = sorted({i.alert for i in items})
    title = (
        f"[volarb] {config.market.underlying} {valuation_date}: {len(items)} alert{'s' if len(items) != 1 else ''} "
        f"({', '.join(names)})"
    )
    body = "\n".join(f"{i.alert} [{i.key}]: {i.detail}" for i in items)
    return title, body


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] + "://" if "://" in url else "(no scheme)"


def send_push(title: str, body: str, urls: Sequence[str], apprise_module: Any = None) -> dict:
    """Send one message to every URL.

    Parameters
    ----------
    apprise_module : module, optional
        ``apprise`` (tests pass a stand-in); imported here otherwise.

    Returns
    -------
    dict
        ``sent`` (True) and ``services`` (schemes, in order).

    Raises
    ------
    NotifyError
        apprise not installed (``pip install "volarb[push]"``), a URL it cannot use (named by
        position and scheme), or a service refusing the message.
    """
    if apprise_module is None:
        try:
            import apprise as apprise_module
        except ImportError:
            raise NotifyError('push alerts need apprise: pip install "volarb[push]"') from None
    a = apprise_module.Apprise()
    for i, url in enumerate(urls, 1):
        if not a.add(url):
            raise NotifyError(
                f"{_scheme(url)} (URL #{i} of the apprise URLs): apprise cannot use this URL; "
                "check its format at https://github.com/caronc/apprise/wiki"
            )
    if not a.notify(title=title, body=body):
        raise NotifyError(f"push delivery failed for at least one of {', '.join(_scheme(u) for u in urls)}")
    return {"sent": True, "services": [_scheme(u) for u in urls]}
