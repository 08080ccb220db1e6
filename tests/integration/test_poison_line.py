#!/usr/bin/env python3
"""No crash loop from one line: the correlator is made to die (SIGKILL, through its
test hook VTRACE_TEST_CRASH_ON) every time it traces one chosen detection, and every time it
ingests one chosen gateway line, as a bug would. rsyslog restarts it; the restart must set the
line it died on aside (quarantine file, counter, loud log), answer its start-up OK, and go on:
the mails before and after are traced, and rsyslogd keeps running."""
import json
import os
import random
import time

import harness
from harness import Mail, check, log

POISON_VIRUS = "Win.Worm.PoisonTrace"
POISON_INGEST = "POISON-INGEST"


def body(lab):
    rng = random.Random(22)
    before = Mail(rng, 1, virus="Win.Worm.Before")
    poison_trace = Mail(rng, 2, virus=POISON_VIRUS)
    # A clean mail: the correlator dies ingesting its gateway's message-id line (only that one).
    poison_ingest = Mail(rng, 3)
    poison_ingest.msgid = f"{POISON_INGEST}.3@mail.example.org"
    after = Mail(rng, 4, virus="Win.Worm.After")
    # Set before rsyslogd starts, which hands its environment to the correlator; it stays set
    # across restarts: the "bug" is still there when rsyslog restarts the correlator.
    os.environ["VTRACE_TEST_CRASH_ON"] = (
        f"trace:{POISON_VIRUS};ingest:{poison_ingest.gw_qid}: message-id=<{POISON_INGEST}")
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    for m in (before, poison_trace, poison_ingest, after):
        relay.send(*m.relay_lines())
        gw.send(*m.gateway_lines())
        time.sleep(0.3)

    wanted = {before.expected_id(): before, after.expected_id(): after}
    # A correlator that dies while idle (tracing a detection that settled) is restarted by
    # rsyslog with the next message, as a mail host's steady traffic brings it: a clean mail
    # every second stands for that traffic.
    deadline = time.time() + 60
    n = 100
    while time.time() < deadline and not set(wanted) <= set(lab.responder.ids()):
        relay.send(*Mail(rng, n).relay_lines())
        n += 1
        time.sleep(1.0)
    ok = set(wanted) <= set(lab.responder.ids())
    check(ok, "the incidents before and after the two poison lines reach the responder")
    for iid, m in wanted.items():
        doc = [d for d in lab.responder.incidents() if d["id"] == iid][-1]
        harness.check_gateway_incident(doc, m, f"mail {m.n}")

    check(lab.proc.poll() is None, "rsyslogd is still running")
    pid = lab.wait_correlator(timeout=10)
    check(pid is not None, "a correlator is running at the end")

    quarantine = os.path.join(lab.state, "quarantine.jsonl")
    entries = [json.loads(l) for l in lab.read(quarantine).splitlines() if l.strip()]
    print("  quarantine:", [(e["stage"], e["line"][:80]) for e in entries])
    stages = sorted(e["stage"] for e in entries)
    # The poison detection has two lines (clamav-milter's and postfix's milter-reject): once
    # the first is set aside the second is the detection, and kills the correlator in turn.
    # relay1's bounce names the same virus ("Virus ... detected by gateway"): when it is due
    # before the correlator is back (rsyslog waits action.resumeInterval, 10 s, after a start
    # that follows a failed one) it is traced as that detection's echo and dies too.
    def of_poison_detection(line):
        msg = json.loads(line)["msg"]
        return POISON_VIRUS in msg and (poison_trace.gw_qid in msg or
                                        poison_trace.relay_qid in msg)

    traced = [e for e in entries if e["stage"] == "trace"]
    check(stages in (["ingest", "trace", "trace"], ["ingest", "trace", "trace", "trace"]),
          f"the poison lines, and only they, are set aside ({stages})")
    check(all(of_poison_detection(e["line"]) for e in traced),
          "the lines set aside for the trace crashes are the poison detection's (or its echo)")
    check([poison_ingest.gw_qid in e["line"] for e in entries if e["stage"] == "ingest"] == [True],
          "the line set aside for the ingest crash is the marked gateway line")
    log_text = lab.read(lab.correlator_log)
    check(log_text.count("is set aside in") == len(entries), "each quarantine is logged loudly once")
    restarts = lab.restarts_seen()
    check(restarts == len(entries),
          f"rsyslog restarted the correlator once per poison line ({restarts})")
    stats = lab.wait_stats(lambda s: s.get("quarantine") == len(entries), timeout=10)
    check(stats.get("quarantine") == len(entries),
          f"the stats count the quarantine ({stats.get('quarantine')})")
    ids = {d["id"] for d in lab.responder.incidents()}
    check(ids == set(wanted), f"nothing else was reported ({sorted(ids - set(wanted))})")


if __name__ == "__main__":
    harness.run("poison_line_set_aside", body)
