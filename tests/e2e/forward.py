#!/usr/bin/python3
"""e2e lab log forwarder: tails a Postfix maillog_file, a clamav-milter LogFile, an Exim mainlog
and/or an amavisd-new $LOGFILE and sends each line as RFC 5424 syslog over TCP (or RELP) to the
collector, from the address of the network namespace it runs in (run under `ip netns exec`).
Timestamps are the read time (UTC, µs): the files are polled every 10 ms, so this is within
~10 ms of the daemon's write. The clamav-milter file is read first in each poll: the milter logs
its verdict before it replies, so before the MTA logs what follows (a `Clean message QID` line
stamped after postfix's `QID: removed` would be misplaced; tests/e2e/repro-clean-after-removed).
amavisd's lines (`HOST /usr/sbin/amavisd[PID]: ...` in its own log file) are sent with the
app-name `amavis`, the syslog ident amavisd-new logs under on a Debian site.

When the collector goes away (connection refused, reset or closed), the lines queue in memory
(up to 200,000; more are dropped and counted on stderr) and the forwarder reconnects every
100 ms and then sends the queue in order, as rsyslog's omfwd/omrelp do with an action queue.
Over plain TCP the lines in flight when the collector stops are lost (the kernel took them, the
collector never read them): that is TCP syslog. Over RELP (--relp) every line is kept until the
collector acknowledges it and is sent again after a reconnect: none is lost, and one the
collector took but could not acknowledge arrives twice.

usage: forward.py --connect IP:PORT --host NAME [--relp] [--postfix FILE] [--milter FILE]
                  [--exim FILE] [--amavis FILE]"""
import argparse, collections, datetime, re, select, signal, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('--connect', required=True)
ap.add_argument('--host', required=True)
ap.add_argument('--relp', action='store_true', help='RELP (imrelp) instead of plain TCP')
ap.add_argument('--postfix')
ap.add_argument('--milter')
ap.add_argument('--exim')
ap.add_argument('--amavis')
a = ap.parse_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

POSTFIX = re.compile(r'^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ ([^\[:\s]+)(?:\[(\d+)\])?: (.*)$')
MILTER = re.compile(r'^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} -> (.*)$')
AMAVIS = re.compile(r'^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \S+\[(\d+)\]: (.*)$')
MAX_QUEUED = 200000
RELP_WINDOW = 1000          # unacknowledged RELP frames in flight at most


def stamp():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='microseconds')


def frame(app, procid, msg):
    return ('<22>1 %s %s %s %s - - %s' % (stamp(), a.host, app, procid or '-', msg)).encode(
        'utf-8', 'surrogateescape')


class Tcp:
    """RFC 6587 octet-stuffed (LF-terminated) syslog over TCP."""

    def __init__(self, sock):
        self.sock = sock

    def closed(self):
        """The collector never writes: a readable socket means end of file or an error."""
        if not select.select([self.sock], [], [], 0)[0]:
            return False
        return self.sock.recv(1, socket.MSG_PEEK) == b''

    def send(self, queue):
        self.sock.sendall(b''.join(line + b'\n' for line in queue))
        queue.clear()

    def unacknowledged(self):
        return []


class Relp:
    """A RELP client (librelp's protocol: "TXNR COMMAND DATALEN DATA\\n" frames, each
    `syslog` frame acknowledged by "TXNR rsp 6 200 OK"), enough for imrelp."""

    def __init__(self, sock):
        self.sock, self.txnr, self.buf = sock, 0, b''
        self.unacked = collections.OrderedDict()
        self.frame('open', b'relp_version=0\nrelp_software=vtrace-e2e-forward\ncommands=syslog')
        end = time.time() + 5
        while 1 in self.unacked:
            if time.time() > end:
                raise OSError('no answer to RELP open')
            self.read(0.1)

    def frame(self, command, data):
        self.txnr = self.txnr % 999999999 + 1
        self.unacked[self.txnr] = data if command == 'syslog' else None
        self.sock.sendall(b'%d %s %d %s\n' % (self.txnr, command.encode(), len(data), data))

    def read(self, timeout):
        """Reads what the server sent and removes the frames it acknowledged."""
        if not select.select([self.sock], [], [], timeout)[0]:
            return
        data = self.sock.recv(65536)
        if not data:
            raise OSError('the collector closed the RELP session')
        self.buf += data
        while True:
            # "TXNR SP COMMAND SP DATALEN [SP DATA] LF"
            sp1 = self.buf.find(b' ')
            sp2 = self.buf.find(b' ', sp1 + 1) if sp1 > 0 else -1
            if sp2 < 0:
                return
            k = sp2 + 1
            while k < len(self.buf) and self.buf[k:k + 1].isdigit():
                k += 1
            if k >= len(self.buf):
                return
            size = int(self.buf[sp2 + 1:k])
            end = k + 1 + size if size else k          # the LF trailer
            if len(self.buf) <= end:
                return
            txnr, command, body = int(self.buf[:sp1]), self.buf[sp1 + 1:sp2], self.buf[k + 1:end]
            self.buf = self.buf[end + 1:]
            if command == b'serverclose':
                raise OSError('the collector closed the RELP session (serverclose)')
            if command == b'rsp' and body.startswith(b'200'):
                self.unacked.pop(txnr, None)

    def closed(self):
        self.read(0)
        return False

    def send(self, queue):
        while queue and len(self.unacked) < RELP_WINDOW:
            self.frame('syslog', queue.popleft())
        self.read(0)

    def unacknowledged(self):
        return [d for d in self.unacked.values() if d is not None]


def connect(attempts):
    for _ in range(attempts):
        try:
            sock = socket.create_connection((ip, int(port)), timeout=5)
            return Relp(sock) if a.relp else Tcp(sock)
        except OSError:
            time.sleep(0.05)
    return None


ip, port = a.connect.rsplit(':', 1)
link = connect(200)
if link is None:
    sys.exit('forward.py: cannot connect to %s' % a.connect)

files = []
for kind, path in (('milter', a.milter), ('postfix', a.postfix), ('exim', a.exim),
                   ('amavis', a.amavis)):
    if path:
        files.append([kind, open(path, 'rb'), b''])
print('forwarding', flush=True)
queue, dropped, next_try = collections.deque(), 0, 0.0


def lost_link(why):
    """Back to queueing: what the collector did not acknowledge goes first, in order."""
    global link
    queue.extendleft(reversed(link.unacknowledged()))
    try:
        link.sock.close()
    except OSError:
        pass
    link = None
    print('forward.py: %s; queueing' % why, flush=True)


while True:
    for f in files:
        data = f[1].read()
        if not data:
            continue
        f[2] += data
        *lines, f[2] = f[2].split(b'\n')
        for raw in lines:
            line = raw.decode('utf-8', 'surrogateescape')
            out = None
            if f[0] == 'postfix':
                m = POSTFIX.match(line)
                if m:
                    out = frame(m.group(1), m.group(2), m.group(3))
            elif f[0] == 'exim':
                if line:
                    out = frame('exim', None, line)
            elif f[0] == 'amavis':
                m = AMAVIS.match(line)
                if m:
                    out = frame('amavis', m.group(1), m.group(2))
            else:
                m = MILTER.match(line)
                if m:
                    out = frame('clamav-milter', None, m.group(1))
            if out is None:
                continue
            if len(queue) < MAX_QUEUED:
                queue.append(out)
            else:
                dropped += 1
                print('forward.py: queue full, %d lines dropped' % dropped, file=sys.stderr,
                      flush=True)
    if link is not None:
        try:
            if link.closed():
                lost_link('the collector closed the connection')
        except OSError as e:
            lost_link(str(e))
    if link is None and (queue or dropped) and time.time() >= next_try:
        link = connect(1)
        next_try = time.time() + 0.1
        if link is not None:
            print('forward.py: reconnected; sending %d queued lines' % len(queue), flush=True)
    if link is not None and queue:
        try:
            link.send(queue)
        except OSError as e:
            lost_link('send failed: %s' % e)
    else:
        time.sleep(0.01)
