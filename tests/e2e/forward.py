#!/usr/bin/python3
"""e2e lab log forwarder: tails a Postfix maillog_file, a clamav-milter LogFile, an Exim mainlog
and/or an amavisd-new $LOGFILE and sends each line as RFC 5424 syslog over TCP to the collector,
from the address of the network namespace it runs in (run under `ip netns exec`). Timestamps are
the read time (UTC, µs): the files are polled every 10 ms, so this is within ~10 ms of the
daemon's write. The clamav-milter file is read first in each poll: the milter logs its verdict
before it replies, so before the MTA logs what follows (a `Clean message QID` line stamped after
postfix's `QID: removed` would be misplaced; tests/e2e/repro-clean-after-removed). amavisd's
lines (`HOST /usr/sbin/amavisd[PID]: ...` in its own log file) are sent with the app-name
`amavis`, the syslog ident amavisd-new logs under on a Debian site.

usage: forward.py --connect IP:PORT --host NAME [--postfix FILE] [--milter FILE] [--exim FILE]
                  [--amavis FILE]"""
import argparse, datetime, re, signal, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('--connect', required=True)
ap.add_argument('--host', required=True)
ap.add_argument('--postfix')
ap.add_argument('--milter')
ap.add_argument('--exim')
ap.add_argument('--amavis')
a = ap.parse_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

POSTFIX = re.compile(r'^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ ([^\[:\s]+)(?:\[(\d+)\])?: (.*)$')
MILTER = re.compile(r'^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} -> (.*)$')
AMAVIS = re.compile(r'^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \S+\[(\d+)\]: (.*)$')


def stamp():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='microseconds')


def frame(app, procid, msg):
    return ('<22>1 %s %s %s %s - - %s\n' % (stamp(), a.host, app, procid or '-', msg)).encode(
        'utf-8', 'surrogateescape')


ip, port = a.connect.rsplit(':', 1)
sock = None
for _ in range(200):
    try:
        sock = socket.create_connection((ip, int(port)), timeout=5)
        break
    except OSError:
        time.sleep(0.05)
if sock is None:
    sys.exit('forward.py: cannot connect to %s' % a.connect)

files = []
for kind, path in (('milter', a.milter), ('postfix', a.postfix), ('exim', a.exim),
                   ('amavis', a.amavis)):
    if path:
        files.append([kind, open(path, 'rb'), b''])
print('forwarding', flush=True)
while True:
    out = []
    for f in files:
        data = f[1].read()
        if not data:
            continue
        f[2] += data
        *lines, f[2] = f[2].split(b'\n')
        for raw in lines:
            line = raw.decode('utf-8', 'surrogateescape')
            if f[0] == 'postfix':
                m = POSTFIX.match(line)
                if m:
                    out.append(frame(m.group(1), m.group(2), m.group(3)))
            elif f[0] == 'exim':
                if line:
                    out.append(frame('exim', None, line))
            elif f[0] == 'amavis':
                m = AMAVIS.match(line)
                if m:
                    out.append(frame('amavis', m.group(1), m.group(2)))
            else:
                m = MILTER.match(line)
                if m:
                    out.append(frame('clamav-milter', None, m.group(1)))
    if out:
        sock.sendall(b''.join(out))
    else:
        time.sleep(0.01)
