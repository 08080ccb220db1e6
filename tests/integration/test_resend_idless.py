#!/usr/bin/env python3
"""Exactly one incident per virus mail across re-sends: an ISVW record (no queue id,
no Message-ID: its detection key is its envelope, virus and second) read by imfile. The
correlator is killed (its test hook) after journalling the record and before answering OK, so
rsyslog sends it again to the restarted correlator; then the correlator is reloaded (SIGHUP)
and killed and restarted once more, each time rebuilding from its journal. One incident id,
never a second; the re-send is counted as skipped."""
import os
import signal
import random
import time

import harness
from harness import Mail, check, log
from test_isvw_imfile import YAML, send_mta_lines


def body(lab):
    open(lab.isvw_log, "w").close()
    os.environ["VTRACE_TEST_CRASH_ON"] = "confirm:WORM_RESEND.A"
    lab.start()
    relay = lab.sender("127.0.0.3")
    gw3 = lab.sender("127.0.0.4")
    rng = random.Random(14)
    m = Mail(rng, 1, sender="info@example.net", rcpt="suzuki@example.ac.jp")
    send_mta_lines(relay, gw3, m, "6AS50wTQ028970")
    t = m.t
    time.sleep(0.5)
    date = time.strftime("%m/%d/%y %H:%M:%S", time.gmtime(t + 1.0))
    with open(lab.isvw_log, "a", encoding="utf-8") as f:
        f.write(f"Date: {date}\nMethod: SMTP\nFrom: {m.sender}\nTo: <{m.rcpt}>\n"
                "File: invoice.exe\nAction: deleted\nVirus: WORM_RESEND.A\n")
    log("appended one ISVW record; the correlator dies before confirming it")

    deadline = time.time() + 30
    while time.time() < deadline and lab.restarts_seen() < 1:
        time.sleep(0.2)
    check(lab.restarts_seen() >= 1, "the correlator died between journal and OK")
    stats = lab.wait_stats(lambda s: s.get("resent_skipped", 0) >= 1, timeout=20)
    check(stats.get("resent_skipped", 0) >= 1,
          f"the restarted correlator skipped rsyslog's re-send ({stats.get('resent_skipped')})")
    check(lab.responder.wait_for_ids(set(), timeout=1) and len(lab.responder.incidents()) > 0
          or _wait_incident(lab), "the incident is delivered")

    pid = lab.wait_correlator()
    os.kill(pid, signal.SIGHUP)
    log(f"SIGHUP to correlator {pid}")
    time.sleep(2.0)
    os.kill(pid, signal.SIGKILL)
    log(f"kill -9 correlator {pid}")
    time.sleep(0.5)
    relay.send(*Mail(rng, 2).relay_lines())  # rsyslog restarts the program with a message
    check(lab.wait_correlator(timeout=15, exclude={pid}) is not None, "the correlator restarted")
    time.sleep(3.0)
    ids = {d["id"] for d in lab.responder.incidents()}
    viruses = [d.get("virus") for d in lab.responder.incidents()]
    check(len(ids) == 1, f"one incident id for the one virus mail ({sorted(ids)}, {viruses})")
    journal = [j for j in harness.journal_lines(lab.state) if "WORM_RESEND.A" in j.get("msg", "")]
    check(len(journal) == 1, f"the record is journalled once ({len(journal)})")


def _wait_incident(lab):
    deadline = time.time() + 20
    while time.time() < deadline and not lab.responder.incidents():
        time.sleep(0.2)
    return bool(lab.responder.incidents())


if __name__ == "__main__":
    harness.run("resend_idless_detection", body, yaml_template=YAML, feeds=("tcp", "isvw"),
                extra_global=' localHostname="isvw-gw3"')
