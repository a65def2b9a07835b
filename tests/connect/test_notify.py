"""Tests of the alert e-mail (connect/notify.py) against a minimal SMTP server on 127.0.0.1.

The server (no third-party package) speaks just enough RFC 5321 + AUTH PLAIN/LOGIN for smtplib:
EHLO, AUTH, MAIL, RCPT, DATA, QUIT; it records what it receives.
"""

from __future__ import annotations

import base64
import socket
import threading
from email import message_from_bytes

import pytest

from connect.notify import NotifyError, format_alert_email, send_alert_email
from engine.config import default_config


class MiniSMTP:
    def __init__(self, password: str = "s3cret", starttls: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.password, self.starttls = password, starttls
        self.mail_from, self.rcpt, self.data, self.auth = None, [], b"", None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        f = conn.makefile("rb")

        def send(line: str) -> None:
            conn.sendall((line + "\r\n").encode())

        send("220 mini ESMTP")
        try:
            while True:
                raw = f.readline()
                if not raw:
                    break
                line = raw.decode().rstrip("\r\n")
                cmd = line.split(" ")[0].upper()
                if cmd == "EHLO":
                    send("250-mini")
                    if self.starttls:
                        send("250-STARTTLS")
                    send("250 AUTH PLAIN LOGIN")
                elif cmd == "AUTH":
                    parts = line.split(" ")
                    if parts[1].upper() == "PLAIN":
                        blob = parts[2] if len(parts) > 2 else None
                        if blob is None:
                            send("334 ")
                            blob = f.readline().decode().strip()
                        _, user, pw = base64.b64decode(blob).decode().split("\0")
                    else:  # LOGIN
                        send("334 VXNlcm5hbWU6")
                        user = base64.b64decode(f.readline().strip()).decode()
                        send("334 UGFzc3dvcmQ6")
                        pw = base64.b64decode(f.readline().strip()).decode()
                    if pw == self.password:
                        self.auth = (user, pw)
                        send("235 ok")
                    else:
                        send("535 authentication failed")
                elif cmd == "MAIL":
                    self.mail_from = line.split(":", 1)[1].strip().strip("<>").split(">")[0]
                    send("250 ok")
                elif cmd == "RCPT":
                    self.rcpt.append(line.split(":", 1)[1].strip().strip("<>"))
                    send("250 ok")
                elif cmd == "DATA":
                    send("354 go")
                    chunks = []
                    while True:
                        d = f.readline()
                        if d in (b".\r\n", b""):
                            break
                        chunks.append(d)
                    self.data = b"".join(chunks)
                    send("250 queued")
                elif cmd == "QUIT":
                    send("221 bye")
                    break
                else:
                    send("502 not implemented")
        finally:
            conn.close()
            self.sock.close()


def _cfg(port: int, **kw):
    args = {
        "email__smtp_host": "127.0.0.1",
        "email__smtp_port": port,
        "email__use_tls": False,
        "email__sender": "volarb@example.org",
        "email__recipients": ["me@example.org", "you@example.org"],
    }
    args.update(kw)
    return default_config().replace(**args)


REPORT = {
    "valuation_date": "2025-09-27",
    "alerts": [
        {"alert": "HIGH_DELTA_EXPOSURE", "value": 100.0, "threshold": 2654.4, "status": "OK", "detail": "d"},
        {
            "alert": "CONCENTRATION_RISK",
            "value": 5500.0,
            "threshold": 1516.8,
            "status": "ALERT",
            "detail": "$2.5",
        },
        {
            "alert": "DAILY_PNL_ALERT",
            "value": None,
            "threshold": 0.05,
            "status": "N/A",
            "detail": "no previous",
        },
    ],
}


def test_sends_summary_with_login_password_from_env():
    srv = MiniSMTP()
    cfg = _cfg(srv.port, email__username="trader")
    out = send_alert_email(REPORT, cfg, env={"VOLARB_SMTP_PASSWORD": "s3cret"}, timeout=5)
    srv.thread.join(5)
    assert out["sent"] and out["recipients"] == ["me@example.org", "you@example.org"]
    assert srv.auth == ("trader", "s3cret")
    assert srv.mail_from == "volarb@example.org"
    assert srv.rcpt == ["me@example.org", "you@example.org"]
    msg = message_from_bytes(srv.data)
    assert msg["Subject"] == "[volarb] ASST risk: 1 ALERT (CONCENTRATION_RISK)"
    body = msg.get_payload()
    assert "CONCENTRATION_RISK" in body and "5,500.00" in body and "N/A" in body


def test_no_login_when_no_username():
    srv = MiniSMTP()
    send_alert_email(REPORT, _cfg(srv.port), env={}, timeout=5)
    srv.thread.join(5)
    assert srv.auth is None and srv.rcpt


def test_missing_password_env_is_refused_before_connecting():
    cfg = _cfg(1, email__username="trader", email__password_env="MY_SMTP_PW")
    with pytest.raises(NotifyError, match="environment variable MY_SMTP_PW .* is not set"):
        send_alert_email(REPORT, cfg, env={})


def test_wrong_password_and_no_starttls_are_reported():
    srv = MiniSMTP()
    with pytest.raises(NotifyError, match=r"refused the login of 'trader': 535"):
        send_alert_email(
            REPORT, _cfg(srv.port, email__username="trader"), env={"VOLARB_SMTP_PASSWORD": "bad"}, timeout=5
        )
    srv = MiniSMTP()
    with pytest.raises(NotifyError, match="does not offer STARTTLS"):
        send_alert_email(REPORT, _cfg(srv.port, email__use_tls=True), env={}, timeout=5)


def test_missing_settings_and_connection_failure():
    with pytest.raises(NotifyError, match="email.recipients: no recipient address configured"):
        send_alert_email(REPORT, _cfg(1, email__recipients=[]), env={})
    with pytest.raises(NotifyError, match="email.sender: no From address configured"):
        send_alert_email(REPORT, _cfg(1, email__sender=""), env={})
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(NotifyError, match=f"sending the alert e-mail through 127.0.0.1:{port} failed"):
        send_alert_email(REPORT, _cfg(port), env={}, timeout=2)


def test_all_ok_subject():
    ok = {"alerts": [dict(REPORT["alerts"][0])]}
    assert format_alert_email(ok, default_config())["Subject"] == "[volarb] ASST risk: all OK"
