#!/usr/bin/env python3
"""syslog-ng -> program() -> vtrace-correlator throughput, beside a trivial consumer.

Pushes N messages (default 100000: the omprog benchmark's postfix relay chains into a postfix +
clamav-milter gateway, about 1 % infected) over TCP into a private syslog-ng built from the
shipped snippet (tests/integration/syslog_ng_harness.py), once per program and round:
  1. a trivial program that only counts lines (the omprog benchmark's, compiled here; its "OK"s
     go to syslog-ng's /dev/null): syslog-ng's own ceiling for this configuration (template,
     reliable disk buffer, pipe);
  2. vtrace-correlator --input syslog-ng (journal, trace, outbox, HTTP delivery to a local
     endpoint).
Both record the wall time of their last line, so a run lasts from the first frame sent to that
moment. Each round runs both, one after the other, under the machine's load of that moment;
the report gives every round, the medians of messages/s and of the ratio, and the CPU time per
message of syslog-ng and of the program (user + system, all threads, from /proc).

Usage: bench/syslog_ng_bench.py [--messages N] [--rounds 3]
Needs the unpacked syslog-ng (scripts/install-deps) and a C compiler. The binary is
VTRACE_CORRELATOR (absolute path), else build/module/vtrace-correlator.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import omprog_bench  # noqa: E402
import syslog_ng_harness as sng  # noqa: E402


def descendants(pid):
    """Every process below `pid` (the snippet's shell loop and its program)."""
    found = []
    for child in omprog_bench.children(pid):
        found += [child] + descendants(child)
    return found


def run_backlog(trivial, counter, n_messages):
    """One run. `trivial`: the trivial program's path, or None for vtrace-correlator. Returns
    (lines, seconds, complete, (syslog-ng's cpu, the program's cpu))."""
    lab = sng.SyslogNgLab("syslog-ng-bench", feeds=("tcp",), binary=trivial)
    try:
        relay_frames, gateway_frames, _ = omprog_bench.build_frames(n_messages)
        total = len(relay_frames) + len(gateway_frames)
        if trivial:
            # The trivial program takes the counter file and the expected total instead of the
            # correlator's arguments.
            lab.extra_substitutions[f"{trivial} --config {lab.config} --input syslog-ng"] = (
                f"{trivial} {counter} {total}")
        lab.start()
        if trivial:
            finished = omprog_bench.counter_finished(counter)
        else:
            def finished(_lab, want):
                s = lab.stats()
                return s["last_line_at"] / 1e6 if s.get("lines", 0) >= want else None
        relay = lab.sender("127.0.0.3")
        gateway = lab.sender("127.0.0.2")
        started = time.time()
        batch = 500
        gi = 0
        for ri in range(0, len(relay_frames), batch):
            relay.send(*relay_frames[ri:ri + batch])
            end = min(len(gateway_frames),
                      gi + batch * len(gateway_frames) // len(relay_frames) + 1)
            gateway.send(*gateway_frames[gi:end])
            gi = end
        if gi < len(gateway_frames):
            gateway.send(*gateway_frames[gi:])
        done_at = []

        def done():
            t = finished(lab, total)
            if t is not None:
                done_at.append(t)
            return bool(done_at)

        complete = omprog_bench.wait_until(done, timeout=600)
        cpu = (omprog_bench.cpu_of([lab.proc.pid]),
               omprog_bench.cpu_of(descendants(lab.proc.pid)))
        elapsed = (done_at[0] if done_at else time.time()) - started
        return total, elapsed, complete, cpu
    finally:
        lab.stop()
        lab.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if sng.SyslogNg.find() is None:
        sys.exit("no syslog-ng: run scripts/install-deps")
    tmp = tempfile.mkdtemp(prefix="vtrace-syslog-ng-bench-")
    try:
        trivial = omprog_bench.build_trivial(tmp)
        counter = os.path.join(tmp, "counter")
        rates = {"trivial": [], "vtrace": []}
        ratios = []
        for r in range(1, args.rounds + 1):
            row = {}
            for name, program in (("trivial", trivial), ("vtrace", None)):
                if os.path.exists(counter):
                    os.unlink(counter)
                total, secs, complete, cpu = run_backlog(program, counter, args.messages)
                rate = total / secs
                row[name] = rate
                rates[name].append(rate)
                sng_us = (cpu[0][0] + cpu[0][1]) / total * 1e6
                prog_us = (cpu[1][0] + cpu[1][1]) / total * 1e6
                print(f"round {r} {name:8s}: {total} lines in {secs:6.2f} s = {rate:9.0f} msg/s"
                      f"{'' if complete else ' (INCOMPLETE)'}; CPU per message: syslog-ng "
                      f"{sng_us:5.1f} us, program {prog_us:5.1f} us", flush=True)
            ratios.append(row["vtrace"] / row["trivial"])
        print(f"median: trivial {statistics.median(rates['trivial']):.0f} msg/s, vtrace "
              f"{statistics.median(rates['vtrace']):.0f} msg/s, vtrace/trivial "
              f"{statistics.median(ratios):.0%}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
