#!/usr/bin/env python3
"""SIGHUP to rsyslogd (logrotate does this daily on Debian) reaches the correlator through the
shipped hup.signal="HUP": it reloads its configuration in place (same process) and reports
nothing twice; a broken configuration is refused and the running one kept.
"""
import os
import random
import signal
import time

import harness
from harness import Mail, check, log


def body(lab):
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(8)
    m1 = Mail(rng, 1, virus="Win.Worm.Hup-1")
    relay.send(*m1.relay_lines())
    time.sleep(0.3)
    gw.send(*m1.gateway_lines())
    check(lab.responder.wait_for_ids([m1.expected_id()], timeout=15), "first incident delivered")
    time.sleep(max(0.0, m1.t + 0.6 + 6 + 1.5 - time.time()))  # the relay echo has settled
    pid = lab.wait_correlator()

    os.kill(lab.proc.pid, signal.SIGHUP)
    log(f"SIGHUP to rsyslogd {lab.proc.pid}")
    deadline = time.time() + 10
    while time.time() < deadline and "configuration reloaded" not in lab.read(lab.correlator_log):
        time.sleep(0.2)
    check("configuration reloaded" in lab.read(lab.correlator_log),
          "the correlator got SIGHUP and reloaded its configuration")
    check(lab.correlator_pids() == [pid], "same correlator process (not restarted)")
    time.sleep(2.0)
    check(lab.responder.ids() == [m1.expected_id()],
          "nothing reported again after the reload (got "
          f"{[(d['id'], d['detector']['host']) for d in lab.responder.incidents()]})")

    with open(lab.config, encoding="utf-8") as f:
        good = f.read()
    with open(lab.config, "w", encoding="utf-8") as f:
        f.write(good.replace("clock_skew: 2s", "clock_skw: 2s"))
    os.kill(lab.proc.pid, signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and "reload refused" not in lab.read(lab.correlator_log):
        time.sleep(0.2)
    check("reload refused" in lab.read(lab.correlator_log) and
          "clock_skw" in lab.read(lab.correlator_log),
          "a broken configuration is refused with a diagnostic naming the bad key")
    m2 = Mail(rng, 2, virus="Win.Worm.Hup-2")
    relay.send(*m2.relay_lines())
    gw.send(*m2.gateway_lines())
    check(lab.responder.wait_for_ids([m2.expected_id()], timeout=15),
          "the correlator keeps working on the old configuration")
    check(lab.correlator_pids() == [pid], "still the same correlator process")
    with open(lab.config, "w", encoding="utf-8") as f:
        f.write(good)


if __name__ == "__main__":
    harness.run("sighup_reload", body)
