#!/usr/bin/python3
"""A real SMTP server for cfpd's tests: aiosmtpd on loopback that delivers
every accepted message into Dovecot over LMTP before answering 250, so a mail
is readable over IMAP as soon as cfpd's SMTP transaction returns.

usage: smtp_to_lmtp.py --port P --lmtp-port L [--log FILE]
                       [--listen ADDR] [--lmtp-host HOST]
--listen and --lmtp-host default to 127.0.0.1 (the staging stack in
deploy/compose.yaml sets them to reach Dovecot in another container).
Prints "ready" on stdout once listening. Answers 553 to a non-ASCII recipient,
550 when LMTP refuses every recipient and 451 when LMTP is unreachable (so
senders retry).
"""
import argparse
import asyncio
import signal
import smtplib

from aiosmtpd.controller import Controller


class LmtpRelay:
    def __init__(self, lmtp_host, lmtp_port, log):
        self.lmtp_host = lmtp_host
        self.lmtp_port = lmtp_port
        self.log = log

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

    def deliver(self, envelope):
        try:
            with smtplib.LMTP(self.lmtp_host, self.lmtp_port) as lmtp:
                refused = lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        except smtplib.SMTPRecipientsRefused:
            return "550 5.1.1 all recipients refused"
        except (OSError, smtplib.SMTPException) as e:
            return "451 4.3.0 delivery failed: %s" % str(e).replace("\n", " ")[:200]
        if self.log:
            with open(self.log, "a") as f:
                f.write("%s -> %s\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos)))
        if refused and len(refused) == len(envelope.rcpt_tos):
            return "550 5.1.1 all recipients refused"
        return "250 2.0.0 delivered"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lmtp-port", type=int, required=True)
    ap.add_argument("--log")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--lmtp-host", default="127.0.0.1")
    a = ap.parse_args()
    ctl = Controller(LmtpRelay(a.lmtp_host, a.lmtp_port, a.log), hostname=a.listen, port=a.port,
                     data_size_limit=50 * 1024 * 1024, enable_SMTPUTF8=True)
    ctl.start()
    print("ready", flush=True)
    try:
        signal.pause()
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
