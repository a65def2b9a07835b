"""Email the risk alert summary (``volarb risk --email``) using the config's [email] section.

The SMTP password is read from the environment variable named by ``email.password_env``;
it is never stored in the config or the report.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from typing import Any

from engine._validate import VolarbInputError

__all__ = ["alert_message", "send_alert_email"]


def alert_message(config: Any, alerts: Any, firing: list[dict]) -> EmailMessage:
    """The email (subject names the number of alerts firing; body lists every check)."""
    e = config.email
    msg = EmailMessage()
    msg["Subject"] = f"volarb risk {config.market.underlying} {config.market.valuation_date}: {len(firing)} alert(s)"
    msg["From"] = e.sender
    msg["To"] = ", ".join(e.recipients)
    lines = [f"{r.get('alert')}: {r.get('status')} (value {r.get('value')}, threshold {r.get('threshold')}) "
             f"{r.get('detail', '')}".rstrip() for r in alerts.to_dict(orient="records")]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def send_alert_email(config: Any, alerts: Any, firing: list[dict]) -> None:
    """Send :func:`alert_message` over SMTP (STARTTLS when ``email.use_tls``).

    Raises
    ------
    VolarbInputError
        Email not enabled or not configured, the password variable unset, or the SMTP server
        refused (message names the config key or the server).
    """
    e = config.email
    if not e.enabled:
        raise VolarbInputError("email.enabled is false in the config: set it to true (and sender, recipients, smtp_host)")
    if not e.sender or not e.recipients:
        raise VolarbInputError("email.sender and email.recipients must be set in the config to send alerts")
    password = os.environ.get(e.password_env, "") if e.username else ""
    if e.username and not password:
        raise VolarbInputError(f"environment variable {e.password_env} (email.password_env) is not set")
    msg = alert_message(config, alerts, firing)
    try:
        with smtplib.SMTP(e.smtp_host, e.smtp_port, timeout=30) as smtp:
            if e.use_tls:
                smtp.starttls()
            if e.username:
                smtp.login(e.username, password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise VolarbInputError(f"email: cannot send through {e.smtp_host}:{e.smtp_port} (email.smtp_host): {exc}") from None
