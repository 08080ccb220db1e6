#!/usr/bin/python3
"""Test SMTP sink (aiosmtpd 1.4): every accepted message is written to a Maildir.

aiosmtpd's Controller with a handler that stores each message; TLS and AUTH as below.
usage: smtp_sink.py PORT MAILDIR [--tls CERT KEY] [--require-tls] [--auth USER:PASS]
                    [--require-auth] [--reject ADDRESS]...
  --tls            offer STARTTLS with CERT/KEY          --require-tls  refuse MAIL before STARTTLS
  --auth U:P       offer AUTH PLAIN/LOGIN, accept U:P    --require-auth refuse MAIL before AUTH
  --reject A       answer RCPT TO:<A> with 550 (a permanent failure)
Prints 'READY <port>' on stdout once listening; stops on SIGTERM/SIGINT."""
import argparse, mailbox, signal, ssl, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ap = argparse.ArgumentParser()
ap.add_argument('port', type=int)
ap.add_argument('maildir')
ap.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
ap.add_argument('--require-tls', action='store_true')
ap.add_argument('--auth')
ap.add_argument('--require-auth', action='store_true')
ap.add_argument('--reject', action='append', default=[])
a = ap.parse_args()


class MaildirHandler:
    def __init__(self, path):
        self.md = mailbox.Maildir(path, create=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in a.reject:
            return '550 5.1.1 <%s>: no such user here' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        hdr = 'X-MailFrom: %s\r\nX-RcptTo: %s\r\nX-Auth-User: %s\r\nX-TLS: %s\r\n' % (
            envelope.mail_from, ', '.join(envelope.rcpt_tos),
            session.auth_data.login.decode() if session.authenticated else '-',
            bool(session.ssl))
        self.md.add(hdr.encode() + envelope.original_content)   # raw bytes, as received
        return '250 OK queued'


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and \
        '%s:%s' % (auth_data.login.decode(), auth_data.password.decode()) == a.auth
    # handled=False, or a failed login gets no 535 reply and the client hangs.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


kw = {}
if a.tls:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*a.tls)
    kw.update(tls_context=ctx, require_starttls=a.require_tls)
if a.auth:
    kw.update(authenticator=authenticator, auth_required=a.require_auth,
              auth_require_tls=bool(a.tls))
ctl = Controller(MaildirHandler(a.maildir), hostname='127.0.0.1', port=a.port, **kw)
ctl.start()
print('READY %d' % a.port, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
ctl.stop()
