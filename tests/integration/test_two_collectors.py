#!/usr/bin/env python3
"""Two collectors, one action: two correlators fed the same mail logs, as two
collectors receiving the same RELP forwarding would be, post to one real vtrace-responder that
mails through a real SMTP server (aiosmtpd, Maildir). Collector B gets the logs 5 s after A, is
killed in the middle and restarted (it gets its unconfirmed lines again, rsyslog's rule).
Each incident must be stored once and mailed once, and B's posts must all be answered
(accepted as the same incident), with nothing left in its outbox.

Run by ctest with VTRACE_CORRELATOR, VTRACE_RESPONDER and VTRACE_SOURCE_DIR set."""
import email
import email.policy
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import harness
from harness import Mail, check, log
from test_kill9_mid_batch import Correlator, frame_to_json

HERE = os.path.dirname(os.path.abspath(__file__))
SINK = os.path.join(harness.SOURCE_DIR, "tests", "support", "smtp_sink.py")
INFECTED = 6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read().decode())


def mails(maildir):
    new = os.path.join(maildir, "new")
    out = []
    for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
        with open(os.path.join(new, name), "rb") as f:
            out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
    return out


def correlator_yaml(directory, name, responder_url):
    state = os.path.join(directory, name)
    os.makedirs(state)
    path = os.path.join(directory, name + ".yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(harness.DEFAULT_YAML.format(
            clock_skew="2s", pending_timeout="30s", responder_url=responder_url,
            jsonl=os.path.join(state, "incidents.jsonl"), state_dir=state,
            stats_file=os.path.join(state, "stats.json")))
    return path, os.path.join(state, "stats.json")


def main():
    directory = tempfile.mkdtemp(prefix="vtrace-it-two-collectors-")
    procs = []
    ok = False
    try:
        maildir = os.path.join(directory, "maildir")
        smtp_port, api_port = free_port(), free_port()
        sink = subprocess.Popen(["/usr/bin/python3", SINK, str(smtp_port), maildir],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(sink)
        check(sink.stdout.readline().startswith("READY"), "the SMTP server is up")
        config = os.path.join(directory, "responder.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"""listen:
  address: 127.0.0.1
  port: {api_port}
state_file: {os.path.join(directory, 'responder.db')}
smtp:
  host: 127.0.0.1
  port: {smtp_port}
  from: vtrace@example.ac.jp
  retry_initial: 1s
own_domains: [example.ac.jp]
policies:
  - name: internal-origin
    match: {{origin: internal}}
    actions:
      - type: mail
        to: [admins@example.ac.jp]
""")
        responder = subprocess.Popen([os.environ["VTRACE_RESPONDER"], "--config", config],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(directory, "responder.log"), "w"))
        procs.append(responder)
        check(wait_port(api_port), "the responder listens")
        url = f"http://127.0.0.1:{api_port}/v1/incidents"

        rng = random.Random(1414)
        infected = set(rng.sample(range(40), INFECTED))
        mails_sent = [Mail(rng, i, virus=f"Win.Worm.Pair-{i}" if i in infected else None)
                      for i in range(40)]
        lines = []
        for m in mails_sent:
            lines += [frame_to_json(fr, "127.0.0.3") for fr in m.relay_lines()]
            lines += [frame_to_json(fr, "127.0.0.2") for fr in m.gateway_lines()]
        expected = {m.expected_id(): m for m in mails_sent if m.virus}

        binary = harness.find_correlator()
        config_a, _ = correlator_yaml(directory, "collector-a", url)
        config_b, stats_b = correlator_yaml(directory, "collector-b", url)
        a = Correlator(binary, config_a)
        check(a.started.wait(15), "collector A answers its start-up OK")
        a.write(lines)
        log(f"collector A got {len(lines)} lines ({INFECTED} infected mails)")
        time.sleep(5.0)

        b = Correlator(binary, config_b)
        check(b.started.wait(15), "collector B, 5 s late, answers its start-up OK")
        half = len(lines) // 2
        b.write(lines[:half])
        deadline = time.time() + 10
        while b.confirmed() < half // 2 and time.time() < deadline:
            time.sleep(0.01)
        b.kill()
        done = b.confirmed()
        log(f"collector B killed after confirming {done} of {half} lines; restarted")
        b = Correlator(binary, config_b)
        check(b.started.wait(15), "the restarted collector B answers OK")
        b.write(lines[done:])

        deadline = time.time() + 30
        while time.time() < deadline:
            stored = get_json(url + "?limit=100")["incidents"]
            if {d["id"] for d in stored} >= set(expected) and len(mails(maildir)) >= INFECTED:
                break
            time.sleep(0.5)
        time.sleep(3.0)  # both collectors' late posts, and any mail they would cause
        stored = get_json(url + "?limit=100")["incidents"]
        ids = [d["id"] for d in stored]
        check(sorted(ids) == sorted(expected),
              f"each incident is stored once ({len(ids)} stored, {len(set(ids))} distinct, "
              f"{len(expected)} expected)")
        got = mails(maildir)
        mailed = [m["X-Vtrace-Incident"] for m in got]
        check(sorted(mailed) == sorted(expected),
              f"each incident is mailed once ({len(got)} mails for {len(expected)} incidents)")
        for d in stored:
            m = expected[d["id"]]
            check(d["confidence"] == "exact" and d["origin"]["ip"] == m.pc_ip,
                  f"incident {d['id']}: exact, origin {m.pc_ip}")
        with open(stats_b, encoding="utf-8") as f:
            stats = json.load(f)
        check(stats.get("outbox_depth") == 0 and stats.get("outbox_refused") == 0,
              f"collector B delivered everything it found, nothing refused ({stats})"[:300])
        for c in (a, b):
            check(c.close() == 0, "each collector exits 0 at the end of its input")
        ok = True
    except harness.TestFailure as e:
        print(f"FAIL two_collectors: {e}", flush=True)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if ok and not os.environ.get("VTRACE_IT_KEEP"):
            shutil.rmtree(directory, ignore_errors=True)
    print("PASS two_collectors" if ok else f"(kept {directory})", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
