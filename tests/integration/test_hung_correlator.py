#!/usr/bin/env python3
"""A hung correlator never stalls rsyslogd, and what it did not confirm is traced after rsyslog
replaces it.

The running correlator is frozen (SIGSTOP: it neither reads nor answers, as if it were stuck in
a system call). rsyslogd keeps writing the site's own output the whole time; after the snippet's
confirmTimeout (30 s) it gives up on the frozen process, kills it (SIGTERM, then SIGKILL after
closeTimeout: it is not left behind) and starts a new one, which gets the unconfirmed line again
and everything queued behind it: every mail is traced, once.
"""
import os
import random
import signal
import time

import harness
from harness import check, log, send_mails

CONFIRM_TIMEOUT = 30  # the snippet's confirmTimeout, in seconds
CLOSE_TIMEOUT = 10    # and closeTimeout


def body(lab):
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(18)

    def virus(n):
        return f"Win.Worm.Hung-{n}" if n % 2 == 0 else None

    mails, frames = send_mails(relay, gw, rng, range(0, 2), virus)
    check(lab.responder.wait_for_ids([mails[0].expected_id()], timeout=15),
          "a first incident is delivered")
    pid = lab.wait_correlator()
    os.kill(pid, signal.SIGSTOP)
    hung_at = time.time()
    log(f"correlator {pid} frozen (SIGSTOP)")

    for step in range(3):
        more, n = send_mails(relay, gw, rng, range(2 + 2 * step, 4 + 2 * step), virus)
        mails += more
        frames += n
        check(lab.wait_site_lines(frames, timeout=5) == frames,
              f"t+{time.time() - hung_at:.0f} s: the site's own output has all {frames} lines")
        check(lab.rsyslogd_alive(), "rsyslogd is running")
        time.sleep(8)

    replacement = lab.wait_correlator(timeout=CONFIRM_TIMEOUT + CLOSE_TIMEOUT + 15,
                                      exclude=(pid,))
    check(replacement is not None, f"rsyslog started a new correlator after "
                                   f"{time.time() - hung_at:.0f} s")
    internal = lab.read(lab.internal_log)
    check("did not respond within timeout" in internal,
          "rsyslog says the correlator did not respond within confirmTimeout")
    deadline = time.time() + 5
    while time.time() < deadline and pid in lab.correlator_pids():
        time.sleep(0.1)
    check(pid not in lab.correlator_pids(), f"the frozen correlator {pid} was killed, not left "
                                            "behind")
    expected = [m.expected_id() for m in mails if m.virus]
    check(lab.responder.wait_for_ids(expected, timeout=20),
          f"every mail sent during the hang is traced by the new correlator "
          f"({len(set(expected) & set(lab.responder.ids()))}/{len(expected)}, missing "
          f"{harness.missing_mails(lab, [m for m in mails if m.virus])})")
    docs = {d["id"]: d for d in lab.responder.incidents()}
    for m in mails:
        if m.virus:
            harness.check_gateway_incident(docs[m.expected_id()], m, m.virus)
    time.sleep(1.5)
    ids = lab.responder.ids()
    check(sorted(set(ids)) == sorted(expected), f"nothing else was reported ({ids})")
    check(len(lab.correlator_pids()) == 1, "one correlator runs")
    check(lab.rsyslogd_alive(), "rsyslogd is still running")


if __name__ == "__main__":
    harness.run("hung_correlator", body, site_log=True)
