"""Integration harness: a private syslog-ng feeding the built vtrace-correlator through program().

Python 3 standard library only; the same responder, mails and checks as harness.py (the rsyslog
tests). Each test builds one `SyslogNgLab`: a temporary directory, a syslog-ng configuration
generated from the SHIPPED snippet packaging/syslog-ng/vtrace.conf (its "#@" lines uncommented,
its fixed paths substituted), its own persist file, control socket and disk-buffer directory, and
network sources on 127.0.0.1 high ports. Senders speak syslog over TCP from chosen 127.0.0.x
addresses, so syslog-ng's SOURCEIP tells the correlator which source a record comes from.

syslog-ng: Debian's syslog-ng-core conflicts with rsyslog (both are the system logger), so the
tests run a copy unpacked from its .deb (scripts/install-deps: apt-get download + dpkg-deb -x
into /opt/vtrace-syslog-ng; its libraries, libivykis0 and libnet1, are installed normally).
VTRACE_SYSLOG_NG_ROOT names another unpacked copy; an installed /usr/sbin/syslog-ng is used
when there is no unpacked one. Exit codes: 0 pass, 1 fail, 77 skip (no syslog-ng found).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import harness
from harness import Responder, TestFailure, check, free_port, log  # noqa: F401 (re-exported)

SKIP = 77
SNIPPET = os.path.join(harness.SOURCE_DIR, "packaging", "syslog-ng", "vtrace.conf")
DEFAULT_ROOT = "/opt/vtrace-syslog-ng"

# The fixed strings of the shipped snippet that a private instance replaces.
SHIPPED_BINARY = "/usr/bin/vtrace-correlator"
SHIPPED_CONFIG = "/etc/vtrace/vtrace.yaml"
SHIPPED_OUTPUT = "/var/log/vtrace/correlator.log"
SHIPPED_DISK_BUFFER_DIR = 'dir("/var/lib/syslog-ng")'
SHIPPED_TCP = 'ip("0.0.0.0") port(10514)'
SHIPPED_SYSLOG = 'ip("0.0.0.0") port(10601)'
SHIPPED_ISVW_FILE = "/var/log/isvw/virus.log"
SHIPPED_TCP_PATH = "log { source(s_vtrace_tcp); destination(d_vtrace);"
# The loop's pause before it starts a correlator again: 5 s shipped, 1 s here so that a test
# killing the correlator several times does not wait 5 s each time.
SHIPPED_RESTART_PAUSE = "sleep 5;"
TEST_RESTART_PAUSE = "sleep 1;"


class SyslogNg:
    """Where the syslog-ng binaries are, and how to run them."""

    def __init__(self, root: str | None):
        self.root = root
        prefix = root or ""
        self.daemon = prefix + "/usr/sbin/syslog-ng"
        self.ctl = prefix + "/usr/sbin/syslog-ng-ctl"
        self.debian_conf = prefix + "/etc/syslog-ng/syslog-ng.conf"
        self.scl_conf = prefix + "/etc/syslog-ng/scl.conf"
        self.include_path = prefix + "/usr/share/syslog-ng/include"
        self.env = dict(os.environ)
        self.args = []
        if root:
            # The unpacked binaries look for their library and modules under /usr/lib/syslog-ng.
            self.env["LD_LIBRARY_PATH"] = root + "/usr/lib/syslog-ng"
            self.args = [f"--module-path={root}/usr/lib/syslog-ng/3.38"]

    @staticmethod
    def find() -> "SyslogNg | None":
        for root in (os.environ.get("VTRACE_SYSLOG_NG_ROOT"), DEFAULT_ROOT):
            if root and os.access(root + "/usr/sbin/syslog-ng", os.X_OK):
                return SyslogNg(root)
        if os.access("/usr/sbin/syslog-ng", os.X_OK):
            return SyslogNg(None)
        return None

    def syntax_check(self, conf: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.daemon, *self.args, "--syntax-only", "-f", conf],
                              capture_output=True, text=True, env=self.env)


def render_snippet(feeds=(), substitutions=None) -> str:
    with open(SNIPPET, encoding="utf-8") as f:
        text = f.read()
    return harness.render_snippet(feeds, substitutions, text=text)


class SyslogNgLab:
    def __init__(self, name, clock_skew="2s", pending_timeout="30s",
                 yaml_template=harness.DEFAULT_YAML, feeds=("tcp", "syslog"), site_log=False,
                 binary=None, extra_substitutions=None):
        """`extra_substitutions`: further replacements in the rendered snippet, e.g. to measure
        another configuration than the shipped one (bench/ and one-off measurements)."""
        self.name = name
        self.syslog_ng = SyslogNg.find()
        self.correlator = harness.find_correlator()
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix=f"vtrace-sng-{name}-")
        self.work = os.path.join(self.dir, "work")
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.work)
        os.makedirs(self.state)
        self.config = os.path.join(self.dir, "vtrace.yaml")
        self.conf = os.path.join(self.dir, "syslog-ng.conf")
        self.persist = os.path.join(self.dir, "syslog-ng.persist")
        self.control = os.path.join(self.dir, "syslog-ng.ctl")
        self.pidfile = os.path.join(self.dir, "syslog-ng.pid")
        self.jsonl = os.path.join(self.dir, "incidents.jsonl")
        self.stats_file = os.path.join(self.dir, "stats.json")
        self.correlator_log = os.path.join(self.dir, "correlator.log")
        self.internal_log = os.path.join(self.dir, "syslog-ng-internal.log")
        self.isvw_log = os.path.join(self.dir, "isvw-virus.log")
        self.site_log = os.path.join(self.dir, "site.log") if site_log else None
        self.feeds = tuple(feeds)
        self.extra_substitutions = dict(extra_substitutions or {})
        self.responder = Responder()
        self.tcp_port = free_port()
        self.syslog_port = free_port()
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(yaml_template.format(
                clock_skew=clock_skew, pending_timeout=pending_timeout,
                responder_url=self.responder.url, jsonl=self.jsonl, state_dir=self.state,
                stats_file=self.stats_file))
        self.proc = None
        self.senders = []

    def write_conf(self):
        substitutions = {
            SHIPPED_BINARY: self.binary or self.correlator,
            SHIPPED_CONFIG: self.config,
            SHIPPED_OUTPUT: self.correlator_log,
            SHIPPED_DISK_BUFFER_DIR: f'dir("{self.work}")',
            SHIPPED_RESTART_PAUSE: TEST_RESTART_PAUSE,
        }
        if "tcp" in self.feeds:
            substitutions[SHIPPED_TCP] = f'ip("127.0.0.1") port({self.tcp_port})'
            if self.site_log:
                substitutions[SHIPPED_TCP_PATH] = (
                    "log { source(s_vtrace_tcp); destination(d_site); destination(d_vtrace);")
        if "syslog" in self.feeds:
            substitutions[SHIPPED_SYSLOG] = f'ip("127.0.0.1") port({self.syslog_port})'
        if "isvw" in self.feeds:
            substitutions[SHIPPED_ISVW_FILE] = self.isvw_log
        substitutions.update(self.extra_substitutions)
        site = (f'destination d_site {{ file("{self.site_log}"); }};\n' if self.site_log else "")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(
                "@version: 3.38\n"
                "# Private test instance: generated by tests/integration/syslog_ng_harness.py\n"
                f"# from {SNIPPET} (core + feeds {', '.join(self.feeds)}; paths substituted).\n"
                "options { use-dns(no); keep-hostname(yes); chain-hostnames(no);\n"
                "          stats-freq(0); };\n"
                "# syslog-ng's own messages (Debian's s_src, without the local log socket)\n"
                "source s_src { internal(); };\n"
                f'destination d_internal {{ file("{self.internal_log}"); }};\n'
                "log { source(s_src); destination(d_internal); };\n"
                + site + render_snippet(self.feeds, substitutions))

    def start(self, responder=True):
        if responder:
            self.responder.start()
        self.write_conf()
        r = self.syslog_ng.syntax_check(self.conf)
        if r.returncode != 0:
            raise TestFailure(f"syslog-ng --syntax-only rejected the generated config:\n"
                              f"{r.stderr}")
        # In a session of its own, as the real daemon is (its program() children get their own
        # process group anyway).
        self.proc = subprocess.Popen(
            [self.syslog_ng.daemon, *self.syslog_ng.args, "-F", "--no-caps", "-f", self.conf,
             "-R", self.persist, "-c", self.control, "-p", self.pidfile],
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "syslog-ng.stdout"), "ab"),
            stderr=open(os.path.join(self.dir, "syslog-ng.stderr"), "ab"),
            env=self.syslog_ng.env, start_new_session=True)
        ports = [p for feed, p in (("tcp", self.tcp_port), ("syslog", self.syslog_port))
                 if feed in self.feeds]
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"syslog-ng exited at start with {self.proc.returncode}")
            try:
                for port in ports:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        pass
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise TestFailure("syslog-ng did not start listening within 15 s")
        log(f"syslog-ng pid {self.proc.pid} listening on 127.0.0.1:{ports}; "
            f"responder {self.responder.url}; dir {self.dir}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ctl(self, *args):
        return subprocess.run([self.syslog_ng.ctl, *args, "-c", self.control],
                              capture_output=True, text=True, env=self.syslog_ng.env, timeout=20)

    def reload(self):
        r = self.ctl("reload")
        if r.returncode != 0:
            raise TestFailure(f"syslog-ng-ctl reload failed: {r.stdout}{r.stderr}")

    def _close_senders(self):
        for s in self.senders:
            s.close()
        self.senders = []

    def stop_syslog_ng(self):
        """systemctl stop syslog-ng: SIGTERM, wait (fails after 30 s or on a crash)."""
        self._close_senders()
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("syslog-ng did not exit within 30 s of SIGTERM")
        rc = self.proc.returncode
        self.proc = None
        if rc != 0:
            raise TestFailure(f"syslog-ng exited with {rc} on SIGTERM")
        log(f"syslog-ng stopped after {time.time() - t0:.1f} s")

    def restart_syslog_ng(self):
        self.stop_syslog_ng()
        self.start(responder=False)

    def sender(self, source_ip, feed="tcp"):
        port = self.tcp_port if feed == "tcp" else self.syslog_port
        s = harness.Sender(port, source_ip)
        self.senders.append(s)
        return s

    def correlator_pids(self):
        return harness.Lab.correlator_pids(self)

    def wait_correlator(self, timeout=15, exclude=()):
        return harness.Lab.wait_correlator(self, timeout, exclude)

    def stop(self):
        self._close_senders()
        orphans = []
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            rc = self.proc.returncode
            if rc != 0:
                print(f"  WARNING: syslog-ng exit status {rc} at shutdown", flush=True)
        orphans = harness.Lab.reap_correlators(self, 8)
        self.responder.stop()
        if orphans:
            raise TestFailure(f"vtrace-correlator left running after syslog-ng exited: {orphans}")

    def read(self, path):
        return harness.Lab.read(self, path)

    def stats(self):
        return harness.Lab.stats(self)

    def wait_stats(self, predicate, timeout=10):
        return harness.Lab.wait_stats(self, predicate, timeout)

    def site_lines(self):
        return self.read(self.site_log).count("\n")

    def wait_site_lines(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline and self.site_lines() < n:
            time.sleep(0.05)
        return self.site_lines()

    def dump(self):
        for label, path, tail in (("syslog-ng internal log", self.internal_log, 30),
                                  ("syslog-ng stderr", os.path.join(self.dir, "syslog-ng.stderr"),
                                   20),
                                  ("correlator stderr", self.correlator_log, 30)):
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


def skip_unless_syslog_ng(name):
    if SyslogNg.find() is None:
        print(f"SKIP {name}: no syslog-ng: scripts/install-deps unpacks Debian's syslog-ng-core "
              f"into {DEFAULT_ROOT} (or set VTRACE_SYSLOG_NG_ROOT)", flush=True)
        sys.exit(SKIP)


def run(name, body, needs_lab=True, time_limit=harness.TIME_LIMIT, **lab_options):
    """Runs one test as harness.run does, with a SyslogNgLab."""
    t0 = time.time()
    skip_unless_syslog_ng(name)
    for signum in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, harness._interrupt)
    signal.alarm(time_limit)
    lab = None
    failed = False
    try:
        if needs_lab:
            lab = SyslogNgLab(name, **lab_options)
            body(lab)
            lab.stop()
        else:
            body(SyslogNg.find())
    except TestFailure as e:
        print(f"FAIL {name}: {e}", flush=True)
        failed = True
    except Exception:  # noqa: BLE001 - a harness error is a failure, with its traceback
        traceback.print_exc()
        failed = True
    signal.alarm(0)
    if failed:
        if lab is not None:
            lab.dump()
            try:
                lab.stop()
            except Exception as e2:  # noqa: BLE001
                print(f"  also: {e2}")
            lab.cleanup()
        print(f"FAIL {name} ({time.time() - t0:.1f} s)", flush=True)
        sys.exit(1)
    if lab is not None:
        lab.cleanup()
    print(f"PASS {name} ({time.time() - t0:.1f} s)", flush=True)
    sys.exit(0)


def octet_counted(*frames: bytes) -> list[bytes]:
    """RFC 6587 octet-counted framing ("LEN SP MSG"), as syslog()'s TCP transport reads it."""
    out = []
    for frame in frames:
        msg = frame.rstrip(b"\n")
        out.append(str(len(msg)).encode() + b" " + msg)
    return out
