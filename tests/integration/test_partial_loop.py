#!/usr/bin/env python3
"""Four verbatim lines from a real postfix gateway and relay whose other lines are missing (a
gw <-> relay loop) used to crash the correlator in HopTracer::branch, and every
restart crashed again while replaying the journal. Live, they must give one unresolved
incident, with no restart of the correlator, and rsyslog keeps running."""
import calendar
import time

import harness
from harness import check, rfc3164

YAML = harness.DEFAULT_YAML.replace(
    """  - name: gw1
    addresses: [127.0.0.2, 192.0.2.25]""", """  - name: gw1
    hostnames: [gw]
    addresses: [127.0.0.2, 10.201.2.1]""").replace(
    """  - name: relay1
    addresses: [127.0.0.3, 10.1.0.25]""", """  - name: relay1
    hostnames: [relay]
    addresses: [127.0.0.3, 10.201.1.2]""")

# Nov 28 06:00:53/55 in the lines; sent with their original (old) timestamps.
T = calendar.timegm((2026, 11, 28, 6, 0, 53, 0, 0, 0))
LINES = [
    ("127.0.0.2", "gw", "postfix/qmgr", 30915, 0,
     "0A56EA720DF: from=<support@bank.example>, size=563, nrcpt=1 (queue active)"),
    ("127.0.0.3", "relay", "postfix/smtpd", 31056, 0,
     "0B615A720F0: client=gw.campus.example[10.201.2.1]"),
    ("127.0.0.3", "relay", "postfix/qmgr", 30999, 0,
     "0B615A720F0: from=<support@bank.example>, size=808, nrcpt=1 (queue active)"),
    ("127.0.0.2", "gw", "postfix/cleanup", 31062, 2,
     "0D477A72239: milter-reject: END-OF-MESSAGE from relay.campus.example[10.201.1.2]: 5.7.1 "
     "Virus Lab.Worm.BankFake-A.UNOFFICIAL detected by gw.campus.example; "
     "from=<support@bank.example> to=<accounts@partner.example> proto=ESMTP "
     "helo=<relay.campus.example>"),
]


def body(lab):
    lab.start()
    senders = {ip: lab.sender(ip) for ip in ("127.0.0.2", "127.0.0.3")}
    for ip, host, prog, pid, offset, msg in LINES:
        senders[ip].send(rfc3164(host, prog, pid, msg, T + offset))
        time.sleep(0.05)
    deadline = time.time() + 30
    while time.time() < deadline and not lab.responder.incidents():
        time.sleep(0.2)
    docs = lab.responder.incidents()
    check(len({d["id"] for d in docs}) == 1, f"one incident ({len(docs)} posts)")
    doc = docs[-1]
    check(doc["confidence"] == "unresolved" and doc["origin"] is None,
          f"it is unresolved, with no origin asserted ({doc['confidence']})")
    check([h["host"] for h in doc["hops"]][:2] == ["gw1", "relay1"],
          f"its hops start gw1 -> relay1 ({[h['host'] for h in doc['hops']]})")
    check(lab.restarts_seen() == 0, "the correlator was never restarted")
    check(lab.proc.poll() is None, "rsyslogd is still running")


if __name__ == "__main__":
    harness.run("partial_loop_lines", body, yaml_template=YAML, pending_timeout="3s")
