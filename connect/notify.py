"""E-mail delivery of the daily risk alert summary (standard library ``smtplib`` / ``email``).

Settings come from ``config.email`` (host, port, STARTTLS, user name, sender, recipients); the
password is read **only** from the environment variable named by ``email.password_env``
(never from the config file).  Nothing here reads or writes files.

References
----------
RFC 5321 (SMTP), RFC 3207 (STARTTLS), RFC 4954 (SMTP AUTH); Python ``smtplib`` documentation.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from engine._validate import VolarbInputError

__all__ = ["NotifyError", "format_alert_email", "send_alert_email"]


class NotifyError(VolarbInputError):
    """E-mail settings missing or the SMTP exchange failed (message names the key or server)."""


def _alerts(report: Any) -> list[dict]:
    if isinstance(report, Mapping):
        return list(report["alerts"])
    return list(report.to_dict("records"))  # daily_risk_check DataFrame


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    if isinstance(x, float):
        return f"{x:,.2f}"
    return str(x)


def format_alert_email(report, config) -> EmailMessage:
    """Build the alert-summary message (plain text) from a risk report or check table.

    Parameters
    ----------
    report : dict or pandas.DataFrame
        :func:`engine.risk.checks.risk_report` output or :func:`engine.risk.checks.daily_risk_check` table.
    config : PlanConfig
        ``email.sender``/``recipients`` and ``market.underlying``.

    Returns
    -------
    email.message.EmailMessage
        Subject ``[volarb] ASST risk: 2 ALERT (A, B)`` or ``[volarb] ASST risk: all OK``.

    Examples
    --------
    >>> from engine.config import default_config
    >>> rep = {"alerts": [{"alert": "VAR_LIMIT_BREACH", "value": 300.0, "threshold": 190.0,
    ...                    "status": "ALERT", "detail": "95% 1-day VaR"}]}
    >>> format_alert_email(rep, default_config())["Subject"]
    '[volarb] ASST risk: 1 ALERT (VAR_LIMIT_BREACH)'
    """
    alerts = _alerts(report)
    firing = [a["alert"] for a in alerts if a["status"] == "ALERT"]
    under = config.market.underlying
    subject = (
        f"[volarb] {under} risk: {len(firing)} ALERT ({', '.join(firing)})"
        if firing
        else f"[volarb] {under} risk: all OK"
    )
    lines = [
        f"Daily risk check for {under}"
        + (
            f" on {report['valuation_date']}"
            if isinstance(report, Mapping) and "valuation_date" in report
            else ""
        ),
        "",
    ]
    lines.append(f"{'alert':<24}{'status':<8}{'value':>14}{'threshold':>14}  detail")
    for a in alerts:
        lines.append(
            f"{a['alert']:<24}{a['status']:<8}{_fmt(a['value']):>14}{_fmt(a['threshold']):>14}  {a['detail']}"
        )
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = config.email.sender or "volarb@localhost"
    if config.email.recipients:
        msg["To"] = ", ".join(config.email.recipients)
    msg.set_content("\n".join(lines) + "\n")
    return msg


def send_alert_email(report, config, *, env: Mapping[str, str] | None = None, timeout: float = 20.0) -> dict:
    """Send the alert summary through the user's SMTP server.

    Parameters
    ----------
    report : dict or pandas.DataFrame
        As :func:`format_alert_email`.
    config : PlanConfig
        ``email`` section: ``smtp_host``, ``smtp_port``, ``use_tls`` (STARTTLS), ``username``
        (empty = no login), ``password_env``, ``sender``, ``recipients``.
    env : mapping, optional
        Environment to read the password from (default ``os.environ``).
    timeout : float
        Socket timeout, seconds.

    Returns
    -------
    dict
        ``sent`` (True), ``recipients``, ``subject``, ``server`` ("host:port").

    Raises
    ------
    NotifyError
        No recipients or sender; a user name without the password variable set; the server
        refusing STARTTLS, the login or a recipient; a connection failure.
    """
    e = config.email
    env = os.environ if env is None else env
    if not e.recipients:
        raise NotifyError("email.recipients: no recipient address configured")
    if not e.sender:
        raise NotifyError("email.sender: no From address configured")
    password = None
    if e.username:
        password = env.get(e.password_env)
        if not password:
            raise NotifyError(
                f"email.username is set but the environment variable {e.password_env} "
                "(email.password_env) holding the SMTP password is not set"
            )
    msg = format_alert_email(report, config)
    server = f"{e.smtp_host}:{e.smtp_port}"
    try:
        with smtplib.SMTP(e.smtp_host, e.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            if e.use_tls:
                try:
                    smtp.starttls(context=ssl.create_default_context())
                except smtplib.SMTPNotSupportedError:
                    raise NotifyError(
                        f"SMTP server {server} does not offer STARTTLS (email.use_tls = true); "
                        "refusing to send the password in clear"
                    ) from None
                smtp.ehlo()
            if e.username:
                smtp.login(e.username, password or "")
            refused = smtp.send_message(msg, from_addr=e.sender, to_addrs=list(e.recipients))
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(
            f"SMTP server {server} refused the login of {e.username!r}: {exc.smtp_code}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise NotifyError(
            f"SMTP server {server} refused every recipient: {', '.join(exc.recipients)}"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"sending the alert e-mail through {server} failed: {exc}") from None
    if refused:
        raise NotifyError(f"SMTP server {server} refused recipients: {', '.join(refused)}")
    return {"sent": True, "recipients": list(e.recipients), "subject": msg["Subject"], "server": server}
