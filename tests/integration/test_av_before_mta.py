#!/usr/bin/env python3
"""(a) The gateway's antivirus lines reach the collector BEFORE any MTA line of the message.

The detection is held (its records are missing when it settles after clock_skew), retried as
the relay's and the gateway's MTA lines arrive a few seconds later, and delivered to the
responder as ONE exact incident whose origin is the PC behind relay1. The relay's own
"bounced ... Virus" line echoes the gateway's detection and must not become a second incident.
"""
import random
import time

import harness
from harness import Mail, check, log


def body(lab):
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(1)
    mail = Mail(rng, 1, virus="Win.Worm.Mydoom-1", pc_ip="10.1.23.45")

    # The antivirus verdict first (clamav-milter + postfix milter-reject) ...
    gw.send(*mail.detection_lines())
    log("sent the gateway's detection lines; holding back every MTA line for 4 s")
    time.sleep(4.0)  # > clock_skew (2 s): the first trace attempt finds nothing
    check(lab.responder.ids() == [], "no incident while the MTA lines are missing")
    held = lab.wait_stats(lambda s: s.get("pending", 0) >= 1, timeout=5)
    check(held.get("pending") == 1, f"the detection is held (stats pending={held.get('pending')})")

    # ... then the relay's log (with its echo of the rejection) and the gateway's MTA lines.
    sent_at = time.time()
    relay.send(*mail.relay_lines())
    gw.send(*mail.gateway_mta_lines())
    expected = mail.expected_id()
    check(lab.responder.wait_for_ids([expected], timeout=15),
          f"incident {expected} delivered to the responder")
    log(f"incident arrived {time.time() - sent_at:.2f} s after the MTA lines")

    # Let the relay's echo settle (3 x clock_skew after its log time) and any retry run.
    time.sleep(max(0.0, mail.t + 0.6 + 3 * 2 + 3 - time.time()))
    docs = lab.responder.incidents()
    check(len(docs) == 1, f"exactly one incident POSTed (got {len(docs)}: "
                          f"{[(d.get('id'), d.get('detector')) for d in docs]})")
    harness.check_gateway_incident(docs[0], mail)
    check(docs[0]["hops"][0]["link"] == "queue_id" and docs[0]["hops"][1]["link"] == "message_id",
          "gw1 hop linked by queue id, relay1 hop by Message-ID (the relay logged a bounce)")
    check(docs[0].get("subject") == mail.subject or
          (docs[0].get("message") or {}).get("subject") == mail.subject, "subject carried")
    jl = lab.jsonl_docs()
    check([d["id"] for d in jl] == [expected], "the JSON-lines file holds the same one incident")
    stats = lab.wait_stats(lambda s: s.get("outbox_depth") == 0 and s.get("pending") == 0)
    check(stats.get("untrusted") == 0, "no line was counted untrusted")
    check(stats.get("outbox_depth") == 0 and stats.get("pending") == 0,
          "outbox drained, nothing pending")
    check(lab.restarts_seen() == 0, "rsyslog never had to restart the correlator")


if __name__ == "__main__":
    harness.run("av_line_before_mta_lines", body)
