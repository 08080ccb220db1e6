#!/usr/bin/env python3
"""(b) Records from hosts that are not configured sources produce no incident.

1. A complete, valid virus chain sent from an unlisted address (127.0.0.9) under unlisted
   hostnames: untrusted by address, and the hostname fallback for loopback finds nothing.
2. The same chain sent from an unlisted address (127.0.0.8) claiming the gateway's and the
   relay's NAMES (gw1, relay1): sources gw1/relay1 are configured by address only, so a claimed
   name counts for nothing.
3. A chain from 127.0.0.1 under a hostname no source has.
4. A gateway known only by hostname (gw2), claimed over a TCP connection from 127.0.0.1: a
   loopback connection is still the network (any local user can open one), so only lines that
   rsyslog read on this host (imuxsock, imfile: "inputname") are trusted by hostname.
Every one of those lines must be counted "untrusted". Then, as a control in the same run, the
same kind of chain from the configured addresses (trust by fromhost-ip) gives exactly one
incident, so "no incident" above is not an artefact of a broken pipeline.
"""
import random
import time

import harness
from harness import Mail, check, log, rfc5424


def body(lab):
    lab.start()
    rng = random.Random(2)
    sent_untrusted = 0

    def send_chain(mail, gw_sender, relay_sender, gw_host, relay_host):
        relay_sender.send(*mail.relay_lines(relay_host))
        gw_sender.send(*mail.gateway_lines(gw_host))
        return len(mail.relay_lines(relay_host)) + len(mail.gateway_lines(gw_host))

    # 1. unlisted address, unlisted names
    s9 = lab.sender("127.0.0.9")
    forged1 = Mail(rng, 1, virus="Win.Worm.Forged-1")
    sent_untrusted += send_chain(forged1, s9, s9, "mx9.example.net", "relay9.example.net")
    # 2. unlisted address claiming the configured sources' names
    s8 = lab.sender("127.0.0.8")
    forged2 = Mail(rng, 2, virus="Win.Worm.Forged-2")
    sent_untrusted += send_chain(forged2, s8, s8, "gw1", "relay1")
    # 3. loopback (hostname trust) under a hostname no source has
    s1 = lab.sender("127.0.0.1")
    forged3 = Mail(rng, 3, virus="Win.Worm.Forged-3")
    sent_untrusted += send_chain(forged3, s1, s1, "intruder", "intruder")
    log(f"sent {sent_untrusted} lines of three forged virus chains from unlisted hosts")

    # Control: trusted by address. And 4: a hostname-only source claimed over loopback TCP.
    legit = Mail(rng, 4, virus="Win.Worm.Mydoom-1")
    send_chain(legit, lab.sender("127.0.0.2"), lab.sender("127.0.0.3"), "gw1", "relay1")
    t = time.time()
    gw2_lines = [
        rfc5424("gw2.example.ac.jp", "postfix/smtpd", 4100,
                "7D1E2A0F3C1: client=unknown[203.0.113.77]", t),
        rfc5424("gw2.example.ac.jp", "postfix/cleanup", 4101,
                "7D1E2A0F3C1: message-id=<gw2test.1@example.net>", t + 0.05),
        rfc5424("gw2.example.ac.jp", "clamav-milter", 778,
                "Message 7D1E2A0F3C1 from <x@example.net> to <sato@example.ac.jp> with subject "
                "'invoice' message-id '<gw2test.1@example.net>' date 'x' infected by "
                "Win.Trojan.Agent-2", t + 0.3),
    ]
    s1.send(*gw2_lines)
    sent_untrusted += len(gw2_lines)

    expected = [legit.expected_id()]
    check(lab.responder.wait_for_ids(expected, timeout=20),
          "the control incident (address trust) was delivered")
    time.sleep(3.0)  # anything else would have settled by now (clock_skew 2 s)
    docs = lab.responder.incidents()
    got = sorted(d["id"] for d in docs)
    check(got == sorted(expected),
          f"no incident from the forged chains (posted ids {got}, expected {sorted(expected)})")
    for d in docs:
        harness.check_gateway_incident(d, legit, "address-trusted control")
    stats = lab.wait_stats(lambda s: s.get("untrusted", 0) >= sent_untrusted, timeout=5)
    check(stats.get("untrusted") == sent_untrusted,
          f"every forged line counted untrusted ({stats.get('untrusted')} of {sent_untrusted})")
    check(stats.get("detections") == 3,
          "only the control's detection lines were detections (gw1 clamav-milter and "
          f"milter-reject, relay1's bounce echo: 3; got {stats.get('detections')})")


if __name__ == "__main__":
    harness.run("records_from_unlisted_hosts", body)
