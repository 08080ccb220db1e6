#!/usr/bin/env python3
"""Exactly one correlator, also while a backlog is drained from the action's disk queue.

The snippet runs the omprog action on a disk queue with one worker thread, without
forceSingleInstance (which segfaults rsyslogd 8.2302 when the program exits at start). The
correlator is held still (SIGSTOP) while a burst of mail lines arrives, so the backlog fills
several of the queue's files on disk; then it is let go. While the backlog drains, the test
counts correlator processes every 20 ms: never more than one, and always the same process.
Every line reaches the journal and every infected mail is traced, once. A second correlator
started by hand on the same state directory is refused, naming the running one.
"""
import os
import random
import signal
import subprocess
import threading
import time

import harness
from harness import check, log, send_mails

MAILS = 800
EVERY = 40  # one mail in EVERY is infected


def body(lab):
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(19)

    def virus(n):
        return f"Win.Worm.Backlog-{n}" if n % EVERY == 0 else None

    mails, frames = send_mails(relay, gw, rng, range(0, 1), virus)
    check(lab.responder.wait_for_ids([mails[0].expected_id()], timeout=15),
          "a first incident is delivered")
    pid = lab.wait_correlator()

    samples = []
    stop = threading.Event()

    def count_instances():
        while not stop.is_set():
            samples.append(tuple(lab.correlator_pids()))
            stop.wait(0.02)

    counter = threading.Thread(target=count_instances, daemon=True)
    counter.start()
    os.kill(pid, signal.SIGSTOP)
    log(f"correlator {pid} held (SIGSTOP) while the backlog arrives")
    t0 = time.time()
    more, n = send_mails(relay, gw, rng, range(1, MAILS), virus)
    mails += more
    frames += n
    check(lab.wait_site_lines(frames, timeout=15) == frames,
          f"rsyslog accepted the burst ({frames} lines) and wrote it to the site's output")
    files = lab.queue_files()
    data = {name: size for name, size in files.items() if not name.endswith(".qi")}
    check(len(data) >= 2 and sum(data.values()) > 2_000_000,
          f"the backlog is on disk, in {len(data)} queue files "
          f"({sum(data.values()) / 1e6:.1f} MB)")
    check(time.time() - t0 < 20, "the correlator is let go before rsyslog's confirmTimeout")
    os.kill(pid, signal.SIGCONT)
    log("correlator let go; draining the backlog")

    expected = [m.expected_id() for m in mails if m.virus]
    traced = lab.responder.wait_for_ids(expected, timeout=45)
    deadline = time.time() + 20
    while time.time() < deadline and len(harness.journal_lines(lab.state)) < frames:
        time.sleep(0.2)
    stop.set()
    counter.join()
    check(traced, f"every infected mail of the backlog is traced "
                  f"({len(set(expected) & set(lab.responder.ids()))}/{len(expected)})")
    journal = harness.journal_lines(lab.state)
    check(len(journal) >= frames, f"every line reached the journal ({len(journal)}/{frames})")
    most = max(len(s) for s in samples)
    seen = sorted({p for s in samples for p in s})
    check(most == 1 and seen == [pid],
          f"{len(samples)} samples while the backlog drained: at most {most} correlator at "
          f"once, processes {seen}")
    left = {name: size for name, size in lab.queue_files().items() if not name.endswith(".qi")}
    check(len(left) <= 1, f"the drained queue files were deleted (left: {left}, the one rsyslog "
                          "keeps open)")
    ids = lab.responder.ids()
    check(len(ids) == len(set(ids)) == len(expected), "each incident once, nothing else")

    second = subprocess.run([lab.correlator, "--config", lab.config], input=b"",
                            capture_output=True, timeout=30)
    message = second.stderr.decode("utf-8", "replace")
    check(second.returncode == 1 and f"another vtrace-correlator (pid {pid})" in message,
          f"a second correlator on the same state directory is refused: {message.strip()!r}")
    check(lab.correlator_pids() == [pid], "the running correlator is untouched")


if __name__ == "__main__":
    harness.run("disk_backlog_single_instance", body, site_log=True)
