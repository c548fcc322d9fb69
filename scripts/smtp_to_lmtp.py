#!/usr/bin/python3
"""A real SMTP server for cfpd's tests: aiosmtpd on loopback that delivers
every accepted message into Dovecot over LMTP before answering 250, so a mail
is readable over IMAP as soon as cfpd's SMTP transaction returns.

usage: smtp_to_lmtp.py --port P --lmtp-port L [--log FILE] [--xoauth2-introspect URL]
                       [--listen ADDR] [--lmtp-host HOST]
--listen and --lmtp-host default to 127.0.0.1 (the staging stack in
deploy/compose.yaml sets them to reach Dovecot in another container).
Prints "ready" on stdout once listening. With --xoauth2-introspect, AUTH
XOAUTH2 is required before MAIL FROM and is the only mechanism offered: the
bearer token is checked at that RFC 7662 introspection URL (the test OAuth2
provider) and must be active for the user it names. A rejected token gets the
XOAUTH2 error challenge (334 + base64 JSON), as Gmail sends, then 535. Answers 553 to a non-ASCII recipient,
550 when LMTP refuses every recipient and 451 when LMTP is unreachable (so
senders retry).
"""
import argparse
import asyncio
import base64
import json
import logging
import signal
import threading
import time
import smtplib
import urllib.parse
import urllib.request
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult


class LmtpRelay:
    def __init__(self, lmtp_host, lmtp_port, log):
        self.lmtp_host = lmtp_host
        self.lmtp_port = lmtp_port
        self.log = log
        self.local = threading.local()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Dovecot's LMTP takes ASCII addresses only: refuse others at RCPT, as a server
        # without internationalised mailboxes does, instead of failing after DATA.
        if not address.isascii():
            return "553 5.6.7 non-ASCII mailbox names are not delivered here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.deliver, envelope)

    def lmtp(self):
        """This thread's LMTP session to Dovecot, kept open between mails as an
        MTA's connection cache does: a session per mail (LHLO, user lookup,
        QUIT) cost Dovecot more than the delivery. A session idle for a while
        is checked with NOOP first (after a Dovecot restart it is gone, or
        answers 421); one in steady use is not, as a NOOP per mail slowed the
        relay by a fifth."""
        lmtp = getattr(self.local, "lmtp", None)
        now = time.monotonic()
        idle = now - getattr(self.local, "used", now)
        self.local.used = now
        if lmtp is not None and idle > 0.2:
            try:
                if lmtp.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("not ready")
            except (OSError, smtplib.SMTPException):
                try:
                    lmtp.close()
                except OSError:
                    pass
                lmtp = None
        if lmtp is None:
            lmtp = smtplib.LMTP(self.lmtp_host, self.lmtp_port)
            self.local.lmtp = lmtp
        return lmtp

    def deliver(self, envelope):
        try:
            lmtp = self.lmtp()
            refused = lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        except smtplib.SMTPRecipientsRefused:
            self.local.lmtp = None
            return "550 5.1.1 all recipients refused"
        except (OSError, smtplib.SMTPException) as e:
            self.local.lmtp = None
            return "451 4.3.0 delivery failed: %s" % str(e).replace("\n", " ")[:200]
        if self.log:
            with open(self.log, "a") as f:
                f.write("%s -> %s\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos)))
        if refused and len(refused) == len(envelope.rcpt_tos):
            return "550 5.1.1 all recipients refused"
        return "250 2.0.0 delivered"


class XOAuth2Relay(LmtpRelay):
    """The relay, with AUTH XOAUTH2 checked against an introspection endpoint."""

    def __init__(self, lmtp_host, lmtp_port, log, introspect):
        super().__init__(lmtp_host, lmtp_port, log)
        self.introspect = introspect

    def active_user(self, token):
        data = urllib.parse.urlencode({"token": token}).encode()
        try:
            with urllib.request.urlopen(self.introspect, data=data, timeout=5) as r:
                info = json.load(r)
        except OSError:
            return None
        return info.get("username") if info.get("active") is True else None

    async def auth_XOAUTH2(self, server, args):
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        fields = dict(
            part.split("=", 1) for part in blob.decode(errors="replace").split("\x01") if "=" in part
        )
        user = fields.get("user", "")
        auth = fields.get("auth", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        loop = asyncio.get_running_loop()
        who = await loop.run_in_executor(None, self.active_user, token) if token else None
        if who is not None and who == user:
            return AuthResult(success=True, auth_data=user)
        err = json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"})
        await server.challenge_auth(err)
        return AuthResult(success=False, handled=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lmtp-port", type=int, required=True)
    ap.add_argument("--log")
    ap.add_argument("--xoauth2-introspect")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--lmtp-host", default="127.0.0.1")
    a = ap.parse_args()
    if a.xoauth2_introspect:
        # Plaintext AUTH is fine on loopback; aiosmtpd warns about it (and about
        # its own deprecated login_data on every AUTH) otherwise.
        warnings.simplefilter("ignore")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        handler = XOAuth2Relay(a.lmtp_host, a.lmtp_port, a.log, a.xoauth2_introspect)
        auth = dict(auth_required=True, auth_require_tls=False,
                    auth_exclude_mechanism=["LOGIN", "PLAIN"])
    else:
        handler = LmtpRelay(a.lmtp_host, a.lmtp_port, a.log)
        auth = {}
    ctl = Controller(handler, hostname=a.listen, port=a.port,
                     data_size_limit=50 * 1024 * 1024, enable_SMTPUTF8=True, **auth)
    ctl.start()
    print("ready", flush=True)
    try:
        signal.pause()
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
