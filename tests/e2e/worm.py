#!/usr/bin/python3
"""e2e lab mail sender (run in a PC's namespace): sends COUNT mails, one every INTERVAL s, to
SERVER:PORT (25 unless --port; a comma-separated list of servers takes turns, as a worm with its
own SMTP engine goes down its list of MX hosts) and prints one JSON line per mail: {"i", "t_start", "t_end", "ok", "reply"}.
--eicar attaches the EICAR test string (a "worm" mail with the given forged sender).
--start-at T (epoch seconds) waits until then, so senders in several namespaces start together.

usage: worm.py --server IP[,IP...] [--port P] --count N --interval S --sender A --rcpt A --helo H --tag T [--eicar]"""
import argparse, json, smtplib, sys, time
from email.message import EmailMessage
from email.utils import formatdate

ap = argparse.ArgumentParser()
ap.add_argument('--server', required=True)
ap.add_argument('--port', type=int, default=25)
ap.add_argument('--count', type=int, default=1)
ap.add_argument('--interval', type=float, default=0.3)
ap.add_argument('--sender', required=True)
ap.add_argument('--rcpt', required=True)
ap.add_argument('--helo', required=True)
ap.add_argument('--tag', required=True)
ap.add_argument('--eicar', action='store_true')
ap.add_argument('--timeout', type=float, default=2.0)
ap.add_argument('--start-at', type=float, default=0.0)
a = ap.parse_args()
EICAR = (r'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*').encode()
domain = a.sender.split('@')[-1]
servers = a.server.split(',')
t_next = max(time.time(), a.start_at)
for i in range(a.count):
    delay = t_next - time.time()
    if delay > 0:
        time.sleep(delay)
    t_next += a.interval
    m = EmailMessage()
    m['From'] = a.sender
    m['To'] = a.rcpt
    m['Subject'] = ('Your invoice %s-%d' if a.eicar else 'Minutes %s-%d') % (a.tag, i)
    m['Date'] = formatdate(localtime=False)
    m['Message-ID'] = '<%s-%d@%s>' % (a.tag, i, domain)
    m.set_content('See the attached document.' if a.eicar else 'Hello, nothing attached.')
    if a.eicar:
        m.add_attachment(EICAR, maintype='application', subtype='octet-stream',
                         filename='invoice.com')
    t0 = time.time()
    ok, reply = False, ''
    try:
        with smtplib.SMTP(servers[i % len(servers)], a.port, local_hostname=a.helo, timeout=a.timeout) as s:
            s.send_message(m, from_addr=a.sender, to_addrs=[a.rcpt])
            code, text = s.noop()
            ok, reply = True, 'accepted'
    except Exception as e:  # noqa: BLE001 - record whatever stopped the mail
        reply = '%s: %s' % (type(e).__name__, e)
    print(json.dumps({'i': i, 'server': servers[i % len(servers)], 'message_id': '%s-%d@%s' % (a.tag, i, domain), 't_start': t0,
                      't_end': time.time(), 'ok': ok, 'reply': reply}), flush=True)
