"""Delivery and network code, kept out of the pure engine.

Modules
-------
notify  the alert e-mail (SMTP); formatting is pure, sending talks to the mail server

Nothing in :mod:`engine` imports this package at import time; the engine facade maps the old
public names (``engine.send_alert_email`` ...) here lazily so existing callers keep working.
"""
