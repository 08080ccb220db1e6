#!/usr/bin/env python3
"""rsyslog -> omprog -> vtrace-correlator throughput and detection-to-incident latency.

Throughput (backlog): pushes N messages (default 200000: postfix relay chains into a postfix +
clamav-milter gateway, about 1 % infected) over TCP into a private rsyslogd built from the
shipped snippet (tests/integration/harness.py), once per program and round:
  1. a trivial program that only answers "OK" per line (compiled here from C): the peer,
     rsyslog's own ceiling for this omprog configuration;
  2. vtrace-correlator (journal, trace, outbox, HTTP delivery to a local endpoint).
Both programs record the wall time at which they finished their last line, so a run lasts
from the first frame sent to that moment for both (no polling granularity in either figure).
Each round runs both, one after the other, so they share the machine's load of that moment;
the report gives every round and the medians of messages/s and of the per-round ratio
(target: vtrace >= 80 % of the trivial program), and for each run the CPU time per message of
rsyslogd and of the program (user + system, all threads, from /proc), which tells a program
that is slower itself from one that makes rsyslog slower. Under this backlog it also prints the latency
from sending a detection line to its incident arriving at the HTTP endpoint (p50/p99): mostly
queueing behind the backlog.

Latency (steady): sends log lines at their own timestamps at a steady rate (default 2,000
lines/s for 20 s, 1 % of the mails infected), as live hosts would, and prints the same latency
p50/p99/max: what an operator sees on a loaded but not saturated collector. --outbreak makes it
20,000 lines/s with 10 % of the mails infected (200 detections/s), and runs the same stream
into the trivial program too: whether each kept up, and their CPU time per line and its ratio. The bench's chains are linked by queue
ids end to end, so an incident is sent once the detection's companion line had its 250 ms to
arrive (not after clock_skew, which only envelope matches wait out).

Lockstep (--lockstep N, instead of the above): captures the lines rsyslog sends for N
messages, then feeds them to each program directly, one at a time and waiting for each OK
(bench/omprog_lockstep.c), and counts vtrace-correlator's instructions per line with callgrind:
its own cost per message without rsyslog's, the last figure deterministic.

Usage: bench/omprog_bench.py [--messages N] [--rounds 3] [--clock-skew 1s]
                             [--steady-rate 2000] [--steady-seconds 20] [--no-steady]
                             [--steady-infected 0.01] [--outbreak] [--no-throughput] [--pin CPU]
       bench/omprog_bench.py --lockstep 50000 [--rounds 3] [--pin CPU]
--pin runs rsyslogd and its program on one CPU (taskset) for the throughput runs: without the
cross-CPU wake-ups of every round trip the figures are steadier and show the programs' own
costs; unpinned figures on a shared virtual machine swing by a factor of two between runs.
Needs rsyslogd and a C compiler; runs as root or not. The binary is VTRACE_CORRELATOR
(absolute path), else build/module/vtrace-correlator.
"""
import argparse
import atexit
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

# Writes "<lines> <wall time of the last line>" every 1000 lines and at the expected total, so
# the bench sees the end of the run as precisely as vtrace's own last_line_at counter. With a
# third argument it also copies every line to that file (--lockstep captures rsyslog's lines).
TRIVIAL_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
static void report(const char *path, unsigned long n) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  FILE *f = fopen(path, "w");
  if (f) { fprintf(f, "%lu %ld.%06ld\n", n, (long)tv.tv_sec, (long)tv.tv_usec); fclose(f); }
}
int main(int argc, char **argv) {
  char line[70000];
  unsigned long n = 0, expected = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
  FILE *copy = argc > 3 ? fopen(argv[3], "w") : NULL;  /* --lockstep: the lines rsyslog sent */
  setvbuf(stdin, NULL, _IOFBF, 1 << 16);
  fputs("OK\n", stdout); fflush(stdout);
  while (fgets(line, sizeof line, stdin)) {
    if (strchr(line, '\n') == NULL) continue;
    ++n;
    if (copy) { fputs(line, copy); fflush(copy); }
    fputs("OK\n", stdout); fflush(stdout);
    if (n % 1000 == 0 || n == expected) report(argv[1], n);
  }
  report(argv[1], n);
  return 0;
}
"""


def build_frames(n_messages, seed=7):
    """Relay + gateway frames, in sending order, and the detection frames' indexes."""
    rng = random.Random(seed)
    relay, gateway = [], []
    detections = []  # (index into gateway list, expected incident id)
    mails = 0
    while len(relay) + len(gateway) < n_messages:
        mails += 1
        infected = rng.random() < 0.01
        mail = harness.Mail(rng, mails, virus="Win.Worm.Mydoom-1" if infected else None)
        relay.extend(mail.relay_lines())
        lines = mail.gateway_lines() if infected else mail.gateway_mta_lines()
        if infected:
            detections.append((len(gateway) + len(lines) - 1, mail.expected_id()))
        gateway.extend(lines)
    return relay, gateway, detections


def wait_until(predicate, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def first_arrivals(lab, wanted):
    with lab.responder.lock:
        arrival = {}
        for (when, _, doc, _) in lab.responder.posts:
            if doc and doc.get("id") in wanted:
                arrival.setdefault(doc["id"], when)
    return arrival


PINNED_RSYSLOGD = None  # a wrapper that runs rsyslogd (and so its omprog child) on one CPU


def cpu_seconds(pid):
    """(user, system) CPU seconds of process `pid` (all its threads) so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) / tick, int(fields[12]) / tick)
    except (OSError, IndexError, ValueError):
        return (0.0, 0.0)


def cpu_of(pids):
    """(user, system) CPU seconds of the processes `pids`, summed."""
    times = [cpu_seconds(p) for p in pids]
    return (sum(t[0] for t in times), sum(t[1] for t in times))


def children(pid):
    """The child processes of `pid` (rsyslogd's omprog program)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def run_backlog(program, n_messages, clock_skew, finished):
    """One throughput run. `finished(lab, total)` returns the wall time of the program's last
    line once it has handled `total` lines, else None. Returns (total, seconds, complete,
    latencies, detections, cpu): cpu is (rsyslogd's, the program's) (user, system) CPU seconds
    over the run, all threads, read when the last line was handled."""
    lab = harness.Lab("omprog-bench", clock_skew=clock_skew, pending_timeout="30s")
    if program:
        lab.correlator = program
    if PINNED_RSYSLOGD:
        lab.rsyslogd = PINNED_RSYSLOGD
    try:
        lab.start()
        relay_frames, gateway_frames, detections = build_frames(n_messages)
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
            for idx, incident_id in detections:
                if gi <= idx < end:
                    sent_at[incident_id] = time.time()
            gateway.send(*gateway_frames[gi:end])
            gi = end
        if gi < len(gateway_frames):
            gateway.send(*gateway_frames[gi:])
        for s in (relay, gateway):
            s.close()
        done_at = []

        def done():
            t = finished(lab, total)
            if t is not None:
                done_at.append(t)
            return bool(done_at)

        complete = wait_until(done, timeout=600)
        cpu = (cpu_of([lab.proc.pid]), cpu_of(children(lab.proc.pid)))
        elapsed = (done_at[0] if done_at else time.time()) - started
        latencies = []
        if not program:
            wait_until(lambda: len(set(lab.responder.ids()) & set(sent_at)) >= len(sent_at), 60)
            arrival = first_arrivals(lab, sent_at)
            latencies = sorted(arrival[i] - sent_at[i] for i in arrival)
        return total, elapsed, complete, latencies, len(sent_at), cpu
    finally:
        lab.stop()
        lab.cleanup()


def steady_events(rate, seconds, start, infected_share=0.01, seed=11):
    """(send time, sender index 0 = relay / 1 = gateway, frame) for mails whose lines are
    logged from `start` on at about `rate` lines/s in all, sorted by time, and the detections'
    (send time of the first detection line, expected incident id)."""
    rng = random.Random(seed)
    events = []
    detections = []
    lines_per_mail = 10  # 5 relay + 5 gateway lines for a clean mail, 6 + 4 for an infected one
    spacing = lines_per_mail / rate
    n = 0
    while n * spacing < seconds:
        t = start + n * spacing
        n += 1
        infected = rng.random() < infected_share
        mail = harness.Mail(rng, n, virus="Win.Worm.Mydoom-1" if infected else None, t=t)
        # Each line is sent when it is logged (its offset in the mail's life), as a live host
        # would forward it; the relay's BSD timestamps only have whole seconds.
        relay_offsets = [0.0, 0.01, 0.02, 0.6, 0.61, 0.62] if infected else [0.0, 0.01, 0.02, 0.6,
                                                                             0.62]
        for off, frame in zip(relay_offsets, mail.relay_lines()):
            events.append((t + off, 0, frame))
        gw = mail.gateway_lines() if infected else mail.gateway_mta_lines()
        gw_offsets = [0.1, 0.14] + ([0.4, 0.41] if infected else [0.4, 0.55, 0.56])
        for off, frame in zip(gw_offsets, gw):
            events.append((t + off, 1, frame))
        if infected:
            detections.append((t + 0.4, mail.expected_id()))
    events.sort(key=lambda e: e[0])
    return events, detections


def run_steady(rate, seconds, clock_skew, infected_share=0.01, program=None, counter=None):
    """The steady run into vtrace-correlator, or into `program` (the trivial one, counting into
    `counter`). Returns (lines, send seconds, kept up, latencies, detections, cpu): cpu is
    (rsyslogd's, the program's) (user, system) CPU seconds over the run."""
    lab = harness.Lab("omprog-steady", clock_skew=clock_skew, pending_timeout="30s")
    if program:
        lab.correlator = program
    if PINNED_RSYSLOGD:
        lab.rsyslogd = PINNED_RSYSLOGD

    def handled():
        if not program:
            return lab.stats().get("lines", 0)
        try:
            with open(counter) as f:
                return int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            return 0

    try:
        lab.start()
        relay = lab.sender("127.0.0.3")
        gateway = lab.sender("127.0.0.2")
        senders = (relay, gateway)
        # A warm-up line so rsyslog starts the program before the clock starts.
        relay.send(harness.rfc3164("relay1", "postfix/qmgr", 1, "ABCDEF0123: removed"))
        if not wait_until(lambda: handled() >= 1 or (program and children(lab.proc.pid)), 30):
            raise harness.TestFailure("the program did not start")
        start = time.time() + 0.5
        events, detections = steady_events(rate, seconds, start, infected_share)
        cpu_before = (cpu_of([lab.proc.pid]), cpu_of(children(lab.proc.pid)))
        sent_at = {}
        pending = {d[1]: d[0] for d in detections}
        i = 0
        while i < len(events):
            now = time.time()
            if events[i][0] > now:
                time.sleep(min(0.005, events[i][0] - now))
                continue
            batches = ([], [])
            while i < len(events) and events[i][0] <= now:
                batches[events[i][1]].append(events[i][2])
                i += 1
            for k in (0, 1):
                if batches[k]:
                    senders[k].send(*batches[k])
            sent = time.time()
            for incident_id, due in list(pending.items()):
                if due <= now:
                    sent_at[incident_id] = sent
                    del pending[incident_id]
        send_seconds = time.time() - start
        total = len(events) + 1
        # Kept up: every line handled within 2 s of the last one sent.
        kept_up = wait_until(lambda: handled() >= total, 2)
        wait_until(lambda: handled() >= total, 60)
        cpu_after = (cpu_of([lab.proc.pid]), cpu_of(children(lab.proc.pid)))
        cpu = tuple(tuple(a - b for a, b in zip(after, before))
                    for after, before in zip(cpu_after, cpu_before))
        latencies = []
        if not program:
            wait_until(lambda: set(sent_at) <= set(lab.responder.ids()), 30)
            arrival = first_arrivals(lab, sent_at)
            latencies = sorted(arrival[i] - sent_at[i] for i in arrival)
        return len(events), send_seconds, kept_up, latencies, len(sent_at), cpu
    finally:
        lab.stop()
        lab.cleanup()


def build_trivial(tmp):
    """Compiles the trivial OK program into `tmp`; returns its path."""
    src = os.path.join(tmp, "ok.c")
    with open(src, "w") as f:
        f.write(TRIVIAL_C)
    trivial = os.path.join(tmp, "ok")
    subprocess.run(["cc", "-O2", "-o", trivial, src], check=True)
    return trivial


def counter_finished(counter):
    """finished() for run_backlog of the trivial program writing to `counter`."""
    def finished(_lab, want):
        try:
            with open(counter) as f:
                n, at = f.read().split()
            return float(at) if int(n) >= want else None
        except (OSError, ValueError):
            return None
    return finished


def callgrind_total(out_file):
    """Instructions counted in a callgrind output file."""
    with open(out_file) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def run_lockstep(n_messages, rounds, pin, clock_skew):
    """The programs' own cost per message, without rsyslog: the lines rsyslog sends for
    `n_messages` are captured once (through the trivial program), then bench/omprog_lockstep.c
    feeds them to each program one at a time, waiting for every OK, as omprog does. Wall rates
    per round (alternating, pinned like rsyslog when `pin` is set), then vtrace-correlator's
    instructions per line under callgrind, start-up and shutdown subtracted (a run on no
    lines), when valgrind is installed: deterministic, unlike the wall figures."""
    tmp = tempfile.mkdtemp(prefix="vtrace-omprog-lockstep-")
    atexit.register(shutil.rmtree, tmp, True)
    trivial = build_trivial(tmp)
    lockstep = os.path.join(tmp, "omprog_lockstep")
    subprocess.run(["cc", "-O2", "-o", lockstep, os.path.join(HERE, "omprog_lockstep.c")],
                   check=True)
    lines = os.path.join(tmp, "lines.jsonl")
    counter = os.path.join(tmp, "count")
    total = sum(len(x) for x in build_frames(n_messages)[:2])
    wrapper = os.path.join(tmp, "capture.sh")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {trivial} {counter} {total} {lines}\n")
    os.chmod(wrapper, 0o755)
    _, _, complete, _, _, _ = run_backlog(wrapper, n_messages, clock_skew, counter_finished(counter))
    with open(lines, "rb") as f:
        captured = sum(1 for _ in f)
    if not complete or captured < total:
        print(f"lockstep: captured only {captured} of {total} lines")
        return False
    empty = os.path.join(tmp, "empty.jsonl")
    open(empty, "w").close()
    config = os.path.join(tmp, "vtrace.yaml")
    state = os.path.join(tmp, "state")
    # The integration tests' configuration, without a responder: the correlator's own work.
    yaml = harness.DEFAULT_YAML.format(
        clock_skew=clock_skew, pending_timeout="30s", responder_url="",
        jsonl=os.path.join(tmp, "incidents.jsonl"), state_dir=state,
        stats_file=os.path.join(tmp, "stats.json"))
    with open(config, "w") as f:
        f.write("".join(line for line in yaml.splitlines(True) if "responder_url" not in line))
    correlator = [harness.find_correlator(), "--config", config]
    taskset = ["taskset", "-c", str(pin)] if pin is not None else []

    def fresh_state():
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)

    def rate(program, input_file=lines):
        fresh_state()
        p = subprocess.run([*taskset, lockstep, input_file, *program],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in p.stderr.splitlines():
            if line.startswith("omprog_lockstep:") and "lines/s" in line:
                return float(line.split("=")[1].split()[0])
        raise RuntimeError(f"lockstep run failed: {p.stderr[-2000:]}")

    print(f"lockstep: {captured} lines as rsyslog sent them, one at a time, no rsyslog"
          + (f"; pinned to CPU {pin}" if pin is not None else ""), flush=True)
    ratios = []
    for r in range(rounds):
        t = rate([trivial, os.devnull, "0"])
        v = rate(correlator)
        ratios.append(v / t)
        print(f"lockstep round {r + 1}: trivial {t:8.0f} msg/s  vtrace {v:8.0f} msg/s  "
              f"ratio {v / t:.2f}", flush=True)
    print(f"lockstep: ratio vtrace / trivial = {statistics.median(ratios):.2f} (median)")
    if shutil.which("valgrind") is None:
        print("lockstep: valgrind not installed, no instruction count")
        return True
    counts = []
    for input_file in (lines, empty):
        out = os.path.join(tmp, "callgrind.out")
        rate(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, *correlator],
             input_file)
        counts.append(callgrind_total(out))
    print(f"lockstep: vtrace-correlator {(counts[0] - counts[1]) / captured:,.0f} instructions "
          f"per line (callgrind; start-up and shutdown, {counts[1]:,}, subtracted)")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clock-skew", default="1s")
    ap.add_argument("--steady-rate", type=int, default=2000)
    ap.add_argument("--steady-seconds", type=float, default=20.0)
    ap.add_argument("--no-steady", action="store_true")
    ap.add_argument("--steady-infected", type=float, default=0.01,
                    help="share of the steady run's mails that are infected")
    ap.add_argument("--outbreak", action="store_true",
                    help="steady run only, at 20,000 lines/s with 10 %% of the mails infected "
                         "(200 detections/s), and the same into the trivial program")
    ap.add_argument("--no-throughput", action="store_true")
    ap.add_argument("--pin", type=int, metavar="CPU",
                    help="throughput runs with rsyslogd and its program on this CPU only")
    ap.add_argument("--lockstep", type=int, metavar="N",
                    help="only the lockstep measurement, without rsyslog, on the lines rsyslog "
                         "sends for N messages (50000 is plenty)")
    args = ap.parse_args()
    if args.outbreak:
        args.no_throughput = True
        args.steady_rate = 20000 if args.steady_rate == 2000 else args.steady_rate
        args.steady_infected = 0.1 if args.steady_infected == 0.01 else args.steady_infected
    if harness.find_rsyslogd() is None:
        print("rsyslogd not installed: skipped")
        return 77
    if args.pin is not None:
        # On one CPU the omprog round trip needs no cross-CPU wake-up, which otherwise makes
        # up most of it on a virtual machine (reference/rsyslog-lab.md, section 6): what is
        # left is rsyslog's and the program's own work per message.
        global PINNED_RSYSLOGD
        wrapper_dir = tempfile.mkdtemp(prefix="vtrace-omprog-bench-pin-")
        atexit.register(shutil.rmtree, wrapper_dir, True)
        PINNED_RSYSLOGD = os.path.join(wrapper_dir, "rsyslogd")
        with open(PINNED_RSYSLOGD, "w") as f:
            f.write(f"#!/bin/sh\nexec taskset -c {args.pin} {harness.find_rsyslogd()} \"$@\"\n")
        os.chmod(PINNED_RSYSLOGD, 0o755)
    print(f"vtrace-correlator: {harness.find_correlator()}; rsyslog 8.2302 omprog "
          f"confirmMessages=on, shipped snippet; load average {os.getloadavg()[0]:.1f}; "
          f"{os.cpu_count()} cores"
          + (f"; rsyslogd and its program pinned to CPU {args.pin}" if args.pin is not None
             else ""), flush=True)
    if args.lockstep:
        return 0 if run_lockstep(args.lockstep, args.rounds, args.pin, args.clock_skew) else 1
    all_ok = True
    if not args.no_throughput:
        tmp = tempfile.mkdtemp(prefix="vtrace-omprog-bench-")
        atexit.register(shutil.rmtree, tmp, True)
        trivial = build_trivial(tmp)
        counter = os.path.join(tmp, "count")
        total = sum(len(x) for x in build_frames(args.messages)[:2])
        wrapper = os.path.join(tmp, "ok.sh")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexec {trivial} {counter} {total}\n")
        os.chmod(wrapper, 0o755)

        trivial_finished = counter_finished(counter)

        def vtrace_finished(lab, want):
            s = lab.stats()
            if s.get("lines", 0) < want:
                return None
            # A correlator without last_line_at (before 2026-11-28): the moment its counters
            # were seen complete, up to stats_interval (1 s) late.
            return s["last_line_at"] / 1e6 if s.get("last_line_at") else time.time()

        rounds = []
        for r in range(args.rounds):
            if os.path.exists(counter):
                os.unlink(counter)
            n1, t1, ok1, _, _, cpu1 = run_backlog(wrapper, args.messages, args.clock_skew,
                                                  trivial_finished)
            n2, t2, ok2, lat, n_det, cpu2 = run_backlog(None, args.messages, args.clock_skew,
                                                        vtrace_finished)
            rounds.append((n1 / t1, n2 / t2, lat))
            all_ok = all_ok and ok1 and ok2
            print(f"round {r + 1}: trivial {n1 / t1:8.0f} msg/s{'' if ok1 else ' (incomplete)'}"
                  f"  vtrace {n2 / t2:8.0f} msg/s{'' if ok2 else ' (incomplete)'}"
                  f"  ratio {(n2 / t2) / (n1 / t1):.2f}"
                  + (f"  latency p50 {statistics.median(lat):.2f} s" if lat else ""),
                  flush=True)
            # Where each run's CPU went, per message: rsyslogd's share tells a program that
            # costs rsyslog more (its caches, its wake-ups) from one that is slower itself.
            def per_msg(cpu, n):
                return f"{sum(cpu) / n * 1e6:4.1f} ({cpu[0] / n * 1e6:.1f} user)"
            print(f"         CPU µs/msg: rsyslogd {per_msg(cpu1[0], n1)} + trivial "
                  f"{per_msg(cpu1[1], n1)}; rsyslogd {per_msg(cpu2[0], n2)} + vtrace "
                  f"{per_msg(cpu2[1], n2)}", flush=True)
        triv = statistics.median(r[0] for r in rounds)
        vt = statistics.median(r[1] for r in rounds)
        ratio = statistics.median(r[1] / r[0] for r in rounds)
        print(f"messages: {n1} per run ({n_det} infected), {args.rounds} rounds")
        print(f"{'program':<28}{'median msg/s':>14}")
        print(f"{'trivial OK program (C)':<28}{triv:>14.0f}")
        print(f"{'vtrace-correlator':<28}{vt:>14.0f}")
        print(f"ratio vtrace / trivial = {ratio:.2f} (median of the rounds' ratios; "
              f"target >= 0.80)")
        lat = rounds[len(rounds) // 2][2]
        if lat:
            print(f"backlog: detection -> incident at the endpoint: n={len(lat)} "
                  f"p50={statistics.median(lat):.3f} s p99={percentile(lat, 0.99):.3f} s "
                  f"(queueing behind the {n1}-message backlog; round {len(rounds) // 2 + 1})")
    if not args.no_steady:
        trivial_cpu = None
        if args.outbreak:
            tmp = tempfile.mkdtemp(prefix="vtrace-omprog-bench-")
            atexit.register(shutil.rmtree, tmp, True)
            counter = os.path.join(tmp, "count")
            wrapper = os.path.join(tmp, "ok.sh")
            # The warm-up line and the run's: the program reports the moment it has them all.
            expected = len(steady_events(args.steady_rate, args.steady_seconds, 0.0,
                                         args.steady_infected)[0]) + 1
            with open(wrapper, "w") as f:
                f.write(f"#!/bin/sh\nexec {build_trivial(tmp)} {counter} {expected}\n")
            os.chmod(wrapper, 0o755)
            tn, tsecs, t_kept_up, _, _, tcpu = run_steady(
                args.steady_rate, args.steady_seconds, args.clock_skew, args.steady_infected,
                wrapper, counter)
            trivial_cpu = sum(tcpu[1]) / tn
            print(f"steady, trivial program: {tn} lines in {tsecs:.1f} s ({tn / tsecs:.0f} "
                  f"lines/s), {'kept up' if t_kept_up else 'FELL BEHIND'}; CPU µs/line: rsyslogd "
                  f"{sum(tcpu[0]) / tn * 1e6:.1f}, program {trivial_cpu * 1e6:.1f}", flush=True)
        n, secs, kept_up, lat, n_det, cpu = run_steady(args.steady_rate, args.steady_seconds,
                                                       args.clock_skew, args.steady_infected)
        print(f"steady: {n} lines in {secs:.1f} s ({n / secs:.0f} lines/s), {n_det} detections "
              f"({n_det / secs:.0f}/s), correlator {'kept up' if kept_up else 'FELL BEHIND'}; "
              f"CPU µs/line: rsyslogd {sum(cpu[0]) / n * 1e6:.1f}, correlator "
              f"{sum(cpu[1]) / n * 1e6:.1f}"
              + (f" ({sum(cpu[1]) / n / trivial_cpu:.1f}x the trivial program's)"
                 if trivial_cpu else ""))
        if lat:
            print(f"steady: detection -> incident at the endpoint: n={len(lat)} "
                  f"p50={statistics.median(lat):.3f} s p99={percentile(lat, 0.99):.3f} s "
                  f"max={lat[-1]:.3f} s")
        if len(lat) < n_det:
            print(f"steady: {n_det - len(lat)} incidents did not arrive")
            all_ok = False
        all_ok = all_ok and kept_up
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
