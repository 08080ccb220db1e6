#!/usr/bin/env python3
"""rsyslog -> omprog -> vtrace-correlator throughput and detection-to-incident latency.

Pushes N messages (default 200000: postfix relay chains into a postfix + clamav-milter
gateway, about 1 % infected) over TCP into a private rsyslogd built from the shipped snippet
(tests/integration/harness.py), twice in the same run:
  1. with a trivial program that only answers "OK" per line (compiled here from C): the peer,
     rsyslog's own ceiling for this omprog configuration;
  2. with vtrace-correlator (journal, trace, outbox, HTTP delivery to a local endpoint).
It prints messages/s for both and their ratio (target: vtrace >= 80 % of the trivial program),
and for vtrace the latency from sending a detection line to its incident arriving at the HTTP
endpoint (p50/p99). That latency includes the configured clock_skew on purpose: a detection
waits that long for late records before it is traced.

Usage: bench/omprog_bench.py [--messages N] [--clock-skew 1s]   (needs rsyslogd; as root or not)
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

TRIVIAL_C = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  char line[70000];
  unsigned long n = 0;
  setvbuf(stdin, NULL, _IOFBF, 1 << 16);
  fputs("OK\n", stdout); fflush(stdout);
  while (fgets(line, sizeof line, stdin)) {
    if (strchr(line, '\n') == NULL) continue;
    ++n;
    fputs("OK\n", stdout); fflush(stdout);
    if (n % 1000 == 0) { FILE *f = fopen(argv[1], "w"); if (f) { fprintf(f, "%lu\n", n); fclose(f); } }
  }
  FILE *f = fopen(argv[1], "w"); if (f) { fprintf(f, "%lu\n", n); fclose(f); }
  return 0;
}
"""


def build_frames(n_messages, seed=7):
    """Relay + gateway frames, in sending order, and the detection frames' indexes."""
    rng = random.Random(seed)
    relay, gateway = [], []
    detections = []  # (index into gateway list, expected incident id)
    mails = 0
    t = time.time()
    while len(relay) + len(gateway) < n_messages:
        mails += 1
        infected = rng.random() < 0.01
        mail = harness.Mail(rng, mails, virus="Win.Worm.Mydoom-1" if infected else None)
        relay.extend(mail.relay_lines())
        lines = mail.gateway_lines() if infected else mail.gateway_mta_lines()
        if infected:
            detections.append((len(gateway) + len(lines) - 1, mail.expected_id()))
        gateway.extend(lines)
    return relay, gateway, detections, t


def wait_until(predicate, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def run(lab_program, n_messages, clock_skew, count_done):
    lab = harness.Lab("omprog-bench", clock_skew=clock_skew, pending_timeout="30s")
    if lab_program:
        lab.correlator = lab_program
    try:
        lab.start()
        relay_frames, gateway_frames, detections, _ = build_frames(n_messages)
        relay = lab.sender("127.0.0.3")
        gateway = lab.sender("127.0.0.2")
        total = len(relay_frames) + len(gateway_frames)
        sent_at = {}
        started = time.time()
        # Relay lines first in batches, each followed by the gateway's lines for the same mails.
        batch = 500
        gi = 0
        for ri in range(0, len(relay_frames), batch):
            relay.send(*relay_frames[ri:ri + batch])
            end = min(len(gateway_frames), gi + batch * len(gateway_frames) // len(relay_frames) + 1)
            for k, (idx, incident_id) in enumerate(detections):
                if gi <= idx < end:
                    sent_at[incident_id] = time.time()
            gateway.send(*gateway_frames[gi:end])
            gi = end
        if gi < len(gateway_frames):
            gateway.send(*gateway_frames[gi:])
        for s in (relay, gateway):
            s.close()
        done = wait_until(lambda: count_done(lab) >= total, timeout=600)
        elapsed = time.time() - started
        latencies = []
        if not lab_program:
            wait_until(lambda: len(set(lab.responder.ids()) & set(sent_at)) >= len(sent_at), 60)
            with lab.responder.lock:
                first_arrival = {}
                for (when, _, doc, _) in lab.responder.posts:
                    if doc and doc.get("id") in sent_at:
                        first_arrival.setdefault(doc["id"], when)
            latencies = [first_arrival[i] - sent_at[i] for i in first_arrival]
        return total, elapsed, done, latencies, len(sent_at)
    finally:
        lab.stop()
        lab.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=200000)
    ap.add_argument("--clock-skew", default="1s")
    args = ap.parse_args()
    if harness.find_rsyslogd() is None:
        print("rsyslogd not installed: skipped")
        return 77
    tmp = tempfile.mkdtemp(prefix="vtrace-omprog-bench-")
    src = os.path.join(tmp, "ok.c")
    with open(src, "w") as f:
        f.write(TRIVIAL_C)
    trivial = os.path.join(tmp, "ok")
    subprocess.run(["cc", "-O2", "-o", trivial, src], check=True)
    counter = os.path.join(tmp, "count")
    wrapper = os.path.join(tmp, "ok.sh")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {trivial} {counter}\n")
    os.chmod(wrapper, 0o755)

    def trivial_count(_lab):
        try:
            with open(counter) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def vtrace_count(lab):
        return lab.stats().get("lines", 0) if lab.stats() else 0

    n1, t1, ok1, _, _ = run(wrapper, args.messages, args.clock_skew, trivial_count)
    n2, t2, ok2, lat, n_det = run(None, args.messages, args.clock_skew, vtrace_count)
    r1, r2 = n1 / t1, n2 / t2
    print(f"messages: {n1} per run ({n_det} infected), 2 cores, rsyslog 8.2302 omprog "
          f"confirmMessages=on, shipped snippet")
    print(f"{'program':<28}{'seconds':>10}{'messages/s':>14}")
    print(f"{'trivial OK program (C)':<28}{t1:>10.2f}{r1:>14.0f}{'' if ok1 else '  (incomplete)'}")
    print(f"{'vtrace-correlator':<28}{t2:>10.2f}{r2:>14.0f}{'' if ok2 else '  (incomplete)'}")
    print(f"ratio vtrace / trivial = {r2 / r1:.2f} (target >= 0.80)")
    if lat:
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"detection -> incident at the endpoint: n={len(lat)} p50={statistics.median(lat):.3f} s "
              f"p99={p99:.3f} s (includes clock_skew={args.clock_skew} of waiting for late records)")
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    sys.exit(main())
