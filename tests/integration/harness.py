"""Integration harness: a private rsyslogd feeding the built vtrace-correlator through omprog.

Python 3 standard library only. Each test script builds one `Lab`: a temporary directory, an
rsyslog configuration generated from the SHIPPED snippet packaging/rsyslog/60-vtrace.conf (its
"#@" lines uncommented, its fixed paths substituted), a vtrace.yaml, a test HTTP responder on
127.0.0.1, and senders that speak syslog over TCP from chosen 127.0.0.x source addresses (Linux
routes all of 127/8 to lo), so rsyslog's fromhost-ip tells the correlator which source a record
comes from. Everything binds to 127.0.0.1 (listening) on kernel-chosen high ports.

Exit codes: 0 pass, 1 fail, 77 skip (only when rsyslogd is not installed).
"""

from __future__ import annotations

import datetime as _dt
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from testkit import free_port  # noqa: E402  (re-exported: the tests call harness.free_port)

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("VTRACE_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
SNIPPET = os.path.join(SOURCE_DIR, "packaging", "rsyslog", "60-vtrace.conf")

# The fixed paths in the shipped snippet that a private instance must replace.
SHIPPED_BINARY = "/usr/bin/vtrace-correlator"
SHIPPED_CONFIG = "/etc/vtrace/vtrace.yaml"
SHIPPED_OUTPUT = "/var/log/vtrace/correlator.log"
SHIPPED_TCP_PORT = 'port="10514"'
SHIPPED_TCP_RULESET = 'ruleset="vtrace" discardTruncatedMsg'
SHIPPED_ISVW_FILE = "/var/log/isvw/virus.log"


class TestFailure(Exception):
    pass


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def check(cond: bool, what: str) -> None:
    if not cond:
        raise TestFailure(what)
    print(f"  ok: {what}", flush=True)


def find_rsyslogd() -> str | None:
    for candidate in (shutil.which("rsyslogd"), "/usr/sbin/rsyslogd", "/sbin/rsyslogd"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_correlator() -> str:
    path = os.environ.get("VTRACE_CORRELATOR") or os.path.join(
        SOURCE_DIR, "build", "module", "vtrace-correlator")
    if not os.access(path, os.X_OK):
        raise TestFailure(f"vtrace-correlator not found or not executable: {path} "
                          "(set VTRACE_CORRELATOR)")
    return path


def render_snippet(feeds=(), substitutions=None, text=None) -> str:
    """The shipped snippet with its core ("#@ ") and the given feeds ("#@tcp " ...) uncommented,
    exactly as its header tells an administrator to do, then with `substitutions` applied.
    Every substituted string must occur, so a change to the shipped text breaks the test
    instead of silently testing something else."""
    if text is None:
        with open(SNIPPET, encoding="utf-8") as f:
            text = f.read()
    prefixes = ["#@ "] + [f"#@{feed} " for feed in feeds]
    out = []
    for line in text.splitlines():
        for p in prefixes:
            if line.startswith(p):
                out.append(line[len(p):])
                break
    rendered = "\n".join(out) + "\n"
    for old, new in (substitutions or {}).items():
        if old not in rendered:
            raise TestFailure(f"the shipped snippet no longer contains {old!r}")
        rendered = rendered.replace(old, new)
    return rendered


# ------------------------------------------------------------------------------------------
# Incident ids: the documented FNV-1a (docs/incident.md, common/incident.cpp), so a test can
# name every incident it expects before sending a line.

def incident_id(detector: str, key: str, virus: str, detected_at_us: int) -> str:
    h = 0xCBF29CE484222325
    mask = (1 << 64) - 1

    def mix(part: str) -> None:
        nonlocal h
        for c in part.encode("utf-8"):
            h ^= c
            h = (h * 0x100000001B3) & mask
        h ^= 0xFF
        h = (h * 0x100000001B3) & mask

    mix(detector)
    mix(key)
    mix(virus)
    mix(str(detected_at_us // 1_000_000))
    return f"{h:016x}"


# ------------------------------------------------------------------------------------------
# The test responder: records every POST; can refuse (503) or be closed for a while.

class Responder:
    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []            # (wall time, path, decoded JSON or None, raw bytes)
        self.statuses = {}         # status -> count
        self.bad_json = 0
        self.mode = "ok"           # "ok" | "503"
        self.refuse_virus = None   # incidents of this virus are answered 400 (for good)
        self.port = free_port()
        self.server = None
        self.thread = None

    def start(self):
        responder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with responder.lock:
                    mode = responder.mode
                    if mode == "503":
                        status = 503
                    else:
                        try:
                            doc = json.loads(body.decode("utf-8"))
                        except (UnicodeDecodeError, ValueError):
                            doc = None
                            responder.bad_json += 1
                        responder.posts.append((time.time(), self.path, doc, body))
                        status = 200 if doc is not None else 400
                        if doc is not None and doc.get("virus") == responder.refuse_virus:
                            status = 400
                    responder.statuses[status] = responder.statuses.get(status, 0) + 1
                reply = (b'{"status":"accepted"}' if status == 200
                         else b'{"error":"virus: refused by the test"}' if status == 400
                         else b'{"error":"unavailable"}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/v1/incidents"

    def incidents(self):
        with self.lock:
            return [doc for (_, _, doc, _) in self.posts if doc is not None]

    def ids(self):
        return [d.get("id") for d in self.incidents()]

    def wait_for_ids(self, expected, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if set(expected) <= set(self.ids()):
                return True
            time.sleep(0.2)
        return set(expected) <= set(self.ids())


# ------------------------------------------------------------------------------------------
# Syslog over TCP from a chosen source address.

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def to_us(t: float) -> int:
    return int(t * 1_000_000)


def rfc5424(host, app, procid, msg, t=None, pri=22) -> bytes:
    t = time.time() if t is None else t
    stamp = (_EPOCH + _dt.timedelta(microseconds=to_us(t))).isoformat(timespec="microseconds")
    return f"<{pri}>1 {stamp} {host} {app} {procid} - - {msg}\n".encode("utf-8", "surrogateescape")


def rfc3164(host, app, pid, msg, t=None, pri=22) -> bytes:
    t = time.time() if t is None else t
    lt = time.localtime(t)
    stamp = time.strftime("%b ", lt) + f"{lt.tm_mday:2d} " + time.strftime("%H:%M:%S", lt)
    return f"<{pri}>{stamp} {host} {app}[{pid}]: {msg}\n".encode("utf-8", "surrogateescape")


class Sender:
    """One TCP connection to rsyslog's imtcp, bound to `source_ip` (127.0.0.x)."""

    def __init__(self, port, source_ip="127.0.0.1"):
        self.source_ip = source_ip
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(source_ip, 0))
        self.lock = threading.Lock()
        self.frames = 0

    def send(self, *frames: bytes):
        with self.lock:
            self.sock.sendall(b"".join(frames))
            self.frames += len(frames)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.sock.close()


# ------------------------------------------------------------------------------------------
# Mail log lines: a PC sends through relay1 (postfix, RFC 3164 from 127.0.0.3) to the gateway
# gw1 (postfix + clamav-milter "LogInfected Full" with OnInfected Reject, RFC 5424 from
# 127.0.0.2). Shapes as in tests/module/trace/trace_test.cpp.

_QID_CHARS = "0123456789ABCDEF"


def qid(rng: random.Random, n=10) -> str:
    return "".join(rng.choice(_QID_CHARS) for _ in range(n))


class Mail:
    def __init__(self, rng, n, virus=None, subject="Re: document", sender=None, rcpt=None,
                 pc_ip=None, t=None):
        self.n = n
        self.virus = virus
        self.subject = subject
        self.relay_qid = qid(rng)
        self.gw_qid = qid(rng, 11)
        self.bounce_qid = qid(rng)
        self.store_qid = qid(rng)
        self.msgid = f"{rng.getrandbits(48):012x}.{n}@mail.example.org"
        self.sender = sender or f"user{n}@mail.example.org"
        self.rcpt = rcpt or f"staff{n % 97}@example.ac.jp"
        self.pc_ip = pc_ip or f"10.1.{rng.randint(1, 250)}.{rng.randint(1, 250)}"
        self.pc_name = f"pc{self.pc_ip.split('.')[-1]}.campus.example.ac.jp"
        self.t = time.time() if t is None else t
        self.detected_at_us = None

    # relay1: postfix (BSD syslog, whole seconds)
    def relay_lines(self, host="relay1"):
        t = self.t
        q = self.relay_qid
        lines = [
            rfc3164(host, "postfix/smtpd", 1180, f"{q}: client={self.pc_name}[{self.pc_ip}]", t),
            rfc3164(host, "postfix/cleanup", 1181, f"{q}: message-id=<{self.msgid}>", t + 0.01),
            rfc3164(host, "postfix/qmgr", 1189,
                    f"{q}: from=<{self.sender}>, size=77984, nrcpt=1 (queue active)", t + 0.02),
        ]
        if self.virus:
            lines += [
                rfc3164(host, "postfix/smtp", 1285,
                        f"{q}: to=<{self.rcpt}>, relay=gw1.example.ac.jp[192.0.2.25]:25, "
                        "delay=0.6, delays=0.05/0/0.2/0.35, dsn=5.7.1, status=bounced (host "
                        "gw1.example.ac.jp[192.0.2.25] said: 550 5.7.1 Virus "
                        f"{self.virus} detected by gateway (in reply to end of DATA command))",
                        t + 0.6),
                rfc3164(host, "postfix/bounce", 1290,
                        f"{q}: sender non-delivery notification: {self.bounce_qid}", t + 0.61),
            ]
        else:
            lines.append(rfc3164(
                host, "postfix/smtp", 1285,
                f"{q}: to=<{self.rcpt}>, relay=gw1.example.ac.jp[192.0.2.25]:25, delay=0.52, "
                "delays=0.06/0.01/0.21/0.24, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                f"{self.gw_qid})", t + 0.6))
        lines.append(rfc3164(host, "postfix/qmgr", 1189, f"{q}: removed", t + 0.62))
        return lines

    # gw1: postfix + clamav-milter (RFC 5424, microseconds)
    def gateway_mta_lines(self, host="gw1"):
        t = self.t + 0.1
        g = self.gw_qid
        lines = [
            rfc5424(host, "postfix/smtpd", 29377,
                    f"{g}: client=relay1.campus.example.ac.jp[10.1.0.25]", t),
            rfc5424(host, "postfix/cleanup", 29402, f"{g}: message-id=<{self.msgid}>", t + 0.04),
        ]
        if not self.virus:
            lines += [
                rfc5424(host, "postfix/qmgr", 29380,
                        f"{g}: from=<{self.sender}>, size=78410, nrcpt=1 (queue active)",
                        t + 0.3),
                rfc5424(host, "postfix/smtp", 29410,
                        f"{g}: to=<{self.rcpt}>, relay=mailhost.campus.example.ac.jp[10.1.0.80]:25,"
                        " delay=0.4, delays=0.2/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: "
                        f"queued as {self.store_qid})", t + 0.45),
                rfc5424(host, "postfix/qmgr", 29380, f"{g}: removed", t + 0.46),
            ]
        return lines

    def detection_lines(self, host="gw1"):
        assert self.virus
        t = self.t + 0.4
        self.detected_at_us = to_us(t)
        g = self.gw_qid
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(self.t))
        return [
            rfc5424(host, "clamav-milter", 777,
                    f"Message {g} from <{self.sender}> to <{self.rcpt}> with subject "
                    f"'{self.subject}' message-id '<{self.msgid}>' date '{date}' infected by "
                    f"{self.virus}", t),
            rfc5424(host, "postfix/cleanup", 29402,
                    f"{g}: milter-reject: END-OF-MESSAGE from "
                    f"relay1.campus.example.ac.jp[10.1.0.25]: 5.7.1 Virus {self.virus} detected "
                    f"by gateway; from=<{self.sender}> to=<{self.rcpt}> proto=ESMTP "
                    "helo=<relay1.campus.example.ac.jp>", t + 0.01),
        ]

    def gateway_lines(self, host="gw1"):
        mta = self.gateway_mta_lines(host)
        return mta + (self.detection_lines(host) if self.virus else [])

    def expected_id(self, detector="gw1"):
        return incident_id(detector, f"q|{detector}|{self.gw_qid}", self.virus,
                           self.detected_at_us)


def send_mails(relay, gw, rng, numbers, virus_name):
    """Makes and sends one mail per number in `numbers`, stamped with the time it is sent;
    `virus_name(n)` is its virus or None. Returns (mails, frames sent)."""
    mails = [Mail(rng, n, virus=virus_name(n)) for n in numbers]
    return mails, sum(send_mail(relay, gw, m) for m in mails)


def send_mail(relay, gw, mail):
    """Sends `mail`'s relay1 lines, then its gw1 lines; returns the number of frames."""
    relay_lines = mail.relay_lines()
    gateway_lines = mail.gateway_lines()
    relay.send(*relay_lines)
    gw.send(*gateway_lines)
    return len(relay_lines) + len(gateway_lines)


def missing_mails(lab, mails):
    """The numbers of those `mails` whose incident the responder has not received."""
    ids = set(lab.responder.ids())
    return [m.n for m in mails if m.expected_id() not in ids]


def check_gateway_incident(doc, mail, what=""):
    """The incident for `mail` as detected by gw1: exact, through relay1 to the PC."""
    prefix = f"{what}: " if what else ""
    check(doc.get("schema") == "vtrace.incident/1", f"{prefix}schema vtrace.incident/1")
    check(doc.get("id") == mail.expected_id(), f"{prefix}id {mail.expected_id()}")
    check(doc.get("confidence") == "exact", f"{prefix}confidence exact (got {doc.get('confidence')})")
    check((doc.get("detector") or {}).get("host") == "gw1", f"{prefix}detector gw1")
    check(doc.get("virus") == mail.virus, f"{prefix}virus {mail.virus}")
    hops = [h.get("host") for h in doc.get("hops") or []]
    check(hops == ["gw1", "relay1"], f"{prefix}hops gw1 -> relay1 (got {hops})")
    origin = doc.get("origin") or {}
    check(origin.get("ip") == mail.pc_ip, f"{prefix}origin {mail.pc_ip} (got {origin.get('ip')})")
    check(origin.get("internal") is True and origin.get("zone") == "campus",
          f"{prefix}origin is internal, zone campus")


# ------------------------------------------------------------------------------------------
# The correlator's journal.

def journal_lines(state_dir):
    """The correlator's journal (<state_dir>/journal/*.journal, one "<time>\t<rsyslog JSON>"
    per line, oldest segment first) as decoded JSON objects. A torn last line of a segment
    (the write a kill -9 interrupted) is left out, as the correlator's replay leaves it out."""
    directory = os.path.join(state_dir, "journal")
    out = []
    if not os.path.isdir(directory):
        return out
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".journal"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            # A segment is allocated ahead; one whose process was killed keeps its zero tail.
            data = f.read().split(b"\0", 1)[0]
        for raw in data.split(b"\n")[:-1]:
            _, _, line = raw.partition(b"\t")
            out.append(json.loads(line.decode("utf-8")))
    return out


# ------------------------------------------------------------------------------------------
# The lab.

# The correlator's output section every lab configuration ends with.
OUTPUT_YAML = """\
output:
  responder_url: "{responder_url}"
  jsonl: "{jsonl}"
  state_dir: "{state_dir}"
  stats_file: "{stats_file}"
  stats_interval: 1s
timezone: UTC
"""

DEFAULT_YAML = """\
# Integration test sources. Every source is recognised by ADDRESS: the test sends each host's
# lines from its own 127.0.0.x address. No hostnames are configured for them on purpose: the
# correlator falls back to hostname trust for loopback fromhost-ip (all of 127/8), so a
# configured hostname would make any 127.0.0.x sender trusted.
sources:
  - name: gw1
    addresses: [127.0.0.2, 192.0.2.25]
    role: gateway
  - name: relay1
    addresses: [127.0.0.3, 10.1.0.25]
    role: relay
  # Recognised by hostname only: its lines arrive from 127.0.0.1 (loopback -> hostname trust).
  - name: gw2
    hostnames: [gw2.example.ac.jp]
    role: gateway
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8]
correlation:
  clock_skew: {clock_skew}
  window: 30m
  pending_timeout: {pending_timeout}
""" + OUTPUT_YAML


class Lab:
    def __init__(self, name, clock_skew="2s", pending_timeout="30s", yaml_template=DEFAULT_YAML,
                 feeds=("tcp",), extra_global="", binary=None, site_log=False):
        """`binary`: what the omprog action runs instead of the built correlator (a path that
        may not exist yet, or a wrapper); `site_log`: the tcp input goes to a site ruleset that
        writes every line to `self.site_log` (the collector's other output) and then calls
        the vtrace ruleset, as the snippet suggests for keeping files of the mail logs."""
        self.name = name
        self.rsyslogd = find_rsyslogd()
        self.correlator = find_correlator()
        self.dir = tempfile.mkdtemp(prefix=f"vtrace-it-{name}-")
        # None: the correlator (read when the configuration is written, so a caller may still
        # set `correlator` to another program, as bench/omprog_bench.py does).
        self.binary = binary(self.dir) if callable(binary) else binary
        self.site_log = os.path.join(self.dir, "site.log") if site_log else None
        self.work = os.path.join(self.dir, "work")
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.work)
        os.makedirs(self.state)
        self.config = os.path.join(self.dir, "vtrace.yaml")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.jsonl = os.path.join(self.dir, "incidents.jsonl")
        self.stats_file = os.path.join(self.dir, "stats.json")
        self.correlator_log = os.path.join(self.dir, "correlator.log")
        self.internal_log = os.path.join(self.dir, "rsyslogd-internal.log")
        self.port_file = os.path.join(self.dir, "imtcp.port")
        self.isvw_log = os.path.join(self.dir, "isvw-virus.log")
        self.feeds = tuple(feeds)
        self.extra_global = extra_global
        self.responder = Responder()
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(yaml_template.format(
                clock_skew=clock_skew, pending_timeout=pending_timeout,
                responder_url=self.responder.url, jsonl=self.jsonl, state_dir=self.state,
                stats_file=self.stats_file))
        self.proc = None
        self.port = None
        self.senders = []

    # rsyslog ------------------------------------------------------------------------------
    def write_rsyslog_conf(self):
        substitutions = {
            SHIPPED_BINARY: self.binary or self.correlator,
            SHIPPED_CONFIG: self.config,
            SHIPPED_OUTPUT: self.correlator_log,
            SHIPPED_TCP_PORT: f'address="127.0.0.1" port="0" '
                              f'listenPortFileName="{self.port_file}"',
        }
        if "isvw" in self.feeds:
            substitutions[SHIPPED_ISVW_FILE] = self.isvw_log
        site = ""
        if self.site_log:
            substitutions[SHIPPED_TCP_RULESET] = 'ruleset="site" discardTruncatedMsg'
            site = ("# The site's own output of the same lines, then vtrace\n"
                    'ruleset(name="site") {\n'
                    f'  action(type="omfile" file="{self.site_log}")\n'
                    "  call vtrace\n"
                    "}\n")
        snippet = render_snippet(self.feeds, substitutions)
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(
                "# Private test instance: generated by tests/integration/harness.py from\n"
                f"# {SNIPPET} (core + feeds {', '.join(self.feeds)}; paths substituted).\n"
                f'global(workDirectory="{self.work}" processInternalMessages="on"\n'
                f'       maxMessageSize="64k" net.enableDNS="off"{self.extra_global})\n'
                + snippet + site +
                "# rsyslogd's own messages (the inputs are bound to the vtrace ruleset)\n"
                f'action(type="omfile" file="{self.internal_log}")\n')

    def start(self, responder=True):
        if responder:
            self.responder.start()
        self.write_rsyslog_conf()
        check_rc = subprocess.run([self.rsyslogd, "-N1", "-f", self.conf], capture_output=True,
                                  text=True)
        if check_rc.returncode != 0:
            raise TestFailure(f"rsyslogd -N1 rejected the generated config:\n{check_rc.stderr}")
        # In a session of its own, as the real daemon is: otherwise rsyslogd and its correlator
        # share the test runner's process group, and the kernel sends SIGHUP + SIGCONT to a
        # group that becomes orphaned while one of them is stopped (test_hung_correlator).
        self.proc = subprocess.Popen(
            [self.rsyslogd, "-n", "-iNONE", "-f", self.conf],
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "rsyslogd.stdout"), "wb"),
            stderr=open(os.path.join(self.dir, "rsyslogd.stderr"), "wb"),
            start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"rsyslogd exited at start with {self.proc.returncode}")
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        pass
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        else:
            raise TestFailure("rsyslogd did not start listening within 15 s")
        log(f"rsyslogd pid {self.proc.pid} listening on 127.0.0.1:{self.port}; "
            f"responder {self.responder.url}; dir {self.dir}")

    def rsyslogd_alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _close_senders(self):
        for s in self.senders:
            s.close()
        if self.senders:
            # rsyslog 8.2302's imtcp can crash (SIGSEGV in lmnsd_ptcp) when SIGTERM arrives
            # while it is still tearing down sessions the peers just closed: let it settle.
            time.sleep(1.0)
        self.senders = []

    def _terminate_rsyslogd(self):
        """SIGTERM, then waits up to 30 s (fails after that). Returns (exit status, seconds)."""
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("rsyslogd did not exit within 30 s of SIGTERM")
        return self.proc.returncode, time.time() - t0

    def stop_rsyslogd(self):
        """Stops rsyslogd (SIGTERM) and waits for it, keeping the lab (its queue files in
        work/, the state directory, the responder) for a restart. Returns the seconds taken;
        fails if it crashed or did not exit within 30 s."""
        self._close_senders()
        rc, took = self._terminate_rsyslogd()
        if rc != 0:
            raise TestFailure(f"rsyslogd exited with {rc} on SIGTERM")
        log(f"rsyslogd stopped after {took:.1f} s")
        self.proc = None
        os.unlink(self.port_file)  # start() waits for the new instance to write it
        return took

    def restart_rsyslogd(self):
        """systemctl restart rsyslog: stop, then start on the same work directory."""
        self.stop_rsyslogd()
        self.start(responder=False)

    def site_lines(self):
        """Lines the site's own output (site_log=True) has written so far."""
        return self.read(self.site_log).count("\n")

    def wait_site_lines(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline and self.site_lines() < n:
            time.sleep(0.05)
        return self.site_lines()

    def queue_files(self):
        """The omprog action's disk queue files in rsyslog's work directory, with sizes."""
        out = {}
        for name in os.listdir(self.work):
            if name.startswith("vtrace-correlator."):
                out[name] = os.path.getsize(os.path.join(self.work, name))
        return out

    def sender(self, source_ip):
        s = Sender(self.port, source_ip)
        self.senders.append(s)
        return s

    def correlator_pids(self):
        """pids of vtrace-correlator processes started with this lab's config (the
        equivalent of `pgrep -f <config path>`, without needing procps)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if self.config.encode() in argv and any(a.endswith(b"vtrace-correlator")
                                                    for a in argv[:1]):
                pids.append(int(entry))
        return pids

    def wait_correlator(self, timeout=15, exclude=()):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pids = [p for p in self.correlator_pids() if p not in exclude]
            if pids:
                return pids[0]
            time.sleep(0.05)
        return None

    def stop(self):
        self._close_senders()
        orphans = []
        if self.proc is not None and self.proc.poll() is None:
            rc, took = self._terminate_rsyslogd()
            log(f"rsyslogd exited {rc} after {took:.1f} s")
            if rc != 0:
                print(f"  WARNING: rsyslogd exit status {rc} at shutdown"
                      + (" (killed by signal %d)" % -rc if rc < 0 else ""), flush=True)
            orphans = self.reap_correlators(5)
        self.responder.stop()
        if orphans:
            raise TestFailure(f"vtrace-correlator left running after rsyslogd exited: {orphans}")

    def reap_correlators(self, timeout):
        """After the collector stopped: waits `timeout` s for its correlators to exit, kills
        what is left, and returns the pids it had to kill."""
        deadline = time.time() + timeout
        while time.time() < deadline and self.correlator_pids():
            time.sleep(0.1)
        orphans = self.correlator_pids()
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)
        return orphans

    # files ---------------------------------------------------------------------------------
    def read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stats(self):
        try:
            with open(self.stats_file, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def wait_stats(self, predicate, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.stats()
            if s and predicate(s):
                return s
            time.sleep(0.2)
        return self.stats()

    def jsonl_docs(self):
        """The incidents in output.jsonl; raises on invalid UTF-8 or JSON."""
        if not os.path.exists(self.jsonl):
            return []
        with open(self.jsonl, "rb") as f:
            return [json.loads(raw.decode("utf-8")) for raw in f]

    def restarts_seen(self):
        return self.read(self.internal_log).count("will be restarted")

    def dump(self):
        for label, path, tail in (("rsyslogd internal log", self.internal_log, 40),
                                  ("rsyslogd stderr", os.path.join(self.dir, "rsyslogd.stderr"), 20),
                                  ("correlator stderr (omprog output=)", self.correlator_log, 40)):
            lines = self.read(path).splitlines()
            print(f"---- {label}: last {min(tail, len(lines))} of {len(lines)} lines ----")
            for line in lines[-tail:]:
                print("   ", line[:400])
        with self.responder.lock:
            print(f"---- responder: {len(self.responder.posts)} posts, statuses "
                  f"{self.responder.statuses} ----")

    def cleanup(self):
        if os.environ.get("VTRACE_IT_KEEP"):
            log(f"kept {self.dir}")
            return
        shutil.rmtree(self.dir, ignore_errors=True)


TIME_LIMIT = 100  # seconds; ctest's TIMEOUT (150 s) is the outer bound


def _interrupt(signum, _frame):
    raise TestFailure(f"interrupted by signal {signum}"
                      + (f" (over the {TIME_LIMIT} s time limit)" if signum == signal.SIGALRM
                         else ""))


def run(name, body, needs_correlator=True, **lab_options):
    """Runs one test: skips if rsyslogd is missing, prints PASS/FAIL with the time taken.
    A test that overruns TIME_LIMIT, or gets SIGTERM/SIGINT (ctest's timeout), fails and still
    stops its rsyslogd and correlator and removes its directory."""
    t0 = time.time()
    if find_rsyslogd() is None:
        print(f"SKIP {name}: rsyslogd is not installed (apt-get install rsyslog); "
              "scripts/install-deps installs it", flush=True)
        sys.exit(SKIP)
    for signum in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    signal.alarm(TIME_LIMIT)
    lab = None
    try:
        if needs_correlator:
            lab = Lab(name, **lab_options)
            body(lab)
            lab.stop()
        else:
            body(None)
    except TestFailure as e:
        signal.alarm(0)
        print(f"FAIL {name}: {e}", flush=True)
        if lab is not None:
            lab.dump()
            try:
                lab.stop()
            except TestFailure as e2:
                print(f"  also: {e2}")
            lab.cleanup()
        print(f"FAIL {name} ({time.time() - t0:.1f} s)", flush=True)
        sys.exit(1)
    except Exception:  # noqa: BLE001 - a harness error is a failure, with its traceback
        signal.alarm(0)
        traceback.print_exc()
        if lab is not None:
            lab.dump()
            try:
                lab.stop()
            except Exception:  # noqa: BLE001
                pass
            lab.cleanup()
        print(f"FAIL {name} ({time.time() - t0:.1f} s)", flush=True)
        sys.exit(1)
    if lab is not None:
        lab.cleanup()
    print(f"PASS {name} ({time.time() - t0:.1f} s)", flush=True)
    sys.exit(0)

