#!/usr/bin/env python3
"""An InterScan VirusWall virus log read by imfile with the shipped "isvw" feed (7-line records
starting with "Date: ", escapeLF="off", readTimeout): the record reaches the correlator as one
message with real line breaks, is trusted by the collector's own hostname (imfile records have
an empty fromhost-ip), is matched by envelope to the gateway's sendmail log (sent over TCP from
the gateway's address) and traced through relay1 to the PC. The attachment name is Japanese.
"""
import random
import time

import harness
from harness import Mail, check, log, rfc3164

YAML = harness.DEFAULT_YAML.replace("""  # Recognised by hostname only""", """\
  # A sendmail gateway with InterScan VirusWall: its syslog arrives over TCP from 127.0.0.4,
  # its ISVW virus log is read by imfile on the collector, whose rsyslog host name the test
  # sets to isvw-gw3 (global localHostname).
  - name: gw3
    hostnames: [isvw-gw3]
    addresses: [127.0.0.4, 192.0.2.27]
    role: gateway
  # Recognised by hostname only""")


def send_mta_lines(relay, gw3, m, sm_qid):
    """relay1's postfix lines of mail `m` (handed to gw3) and gw3's sendmail lines for it."""
    t = m.t
    relay_lines = m.relay_lines()
    # relay1 hands the mail to gw3's sendmail, which answers with its own queue id
    relay_lines[3] = rfc3164(
        "relay1", "postfix/smtp", 1285,
        f"{m.relay_qid}: to=<{m.rcpt}>, relay=gw3.example.ac.jp[192.0.2.27]:25, delay=0.52, "
        "delays=0.06/0.01/0.21/0.24, dsn=2.0.0, status=sent (250 2.0.0 "
        f"{sm_qid} Message accepted for delivery)", t + 0.6)
    relay.send(*relay_lines)
    gw3.send(
        rfc3164("gw3", "sendmail", 28998,
                f"{sm_qid}: from=<{m.sender}>, size=70518, class=0, nrcpts=1, msgid=<{m.msgid}>, "
                "proto=ESMTP, daemon=MTA, relay=relay1.campus.example.ac.jp [10.1.0.25]", t + 0.7),
        rfc3164("gw3", "sendmail", 29034,
                f"{sm_qid}: to=<{m.rcpt}>, delay=00:00:01, xdelay=00:00:01, mailer=local, "
                "pri=100518, dsn=2.0.0, stat=Sent", t + 1.2))


def body(lab):
    open(lab.isvw_log, "w").close()
    lab.start()
    relay = lab.sender("127.0.0.3")
    gw3 = lab.sender("127.0.0.4")
    rng = random.Random(9)
    m = Mail(rng, 1, sender="info@example.net", rcpt="suzuki@example.ac.jp")
    send_mta_lines(relay, gw3, m, "6AS50wTQ028968")
    t = m.t
    date = time.strftime("%m/%d/%y %H:%M:%S", time.gmtime(t + 1.0))
    record = (f"Date: {date}\nMethod: SMTP\nFrom: {m.sender}\nTo: <{m.rcpt}>\n"
              "File: 請求書_2026.exe\nAction: deleted\nVirus: WORM_LOVGATE.F\n")
    with open(lab.isvw_log, "a", encoding="utf-8") as f:
        f.write(record)
    log("sent relay1's and gw3's MTA lines; appended one ISVW record to the imfile log")

    # imfile hands the record over after readTimeout (2 s); relay1 then stays quiet, so the
    # detection waits for settle_timeout (10 s) before it is traced. Margin for a loaded host.
    deadline = time.time() + 40
    while time.time() < deadline and not lab.responder.incidents():
        time.sleep(0.2)
    docs = lab.responder.incidents()
    check(len(docs) == 1, f"one incident delivered (got {len(docs)})")
    d = docs[0]
    check(d["detector"] == {"host": "gw3", "format": "isvw"}, f"detected by gw3's ISVW ({d['detector']})")
    check(d.get("virus") == "WORM_LOVGATE.F" and d.get("action") == "deleted",
          "virus and action from the record")
    check((d.get("message") or {}).get("files") == ["請求書_2026.exe"],
          f"the Japanese file name arrived intact ({(d.get('message') or {}).get('files')})")
    hops = [h.get("host") for h in d.get("hops", [])]
    check(hops == ["gw3", "relay1"], f"hops gw3 -> relay1 (got {hops})")
    check((d.get("origin") or {}).get("ip") == m.pc_ip, f"origin {m.pc_ip} ({d.get('origin')})")
    check(d.get("confidence") in ("fuzzy", "exact"),
          f"confidence {d.get('confidence')} (the ISVW hop is an envelope match)")
    evidence = "\n".join(d.get("evidence", []))
    check("Virus: WORM_LOVGATE.F" in evidence, "the record's lines are the evidence")
    stats = lab.stats()
    check(stats.get("untrusted") == 0 and stats.get("undecodable") == 0,
          "nothing untrusted or undecodable")


if __name__ == "__main__":
    harness.run("isvw_record_via_imfile", body, yaml_template=YAML, feeds=("tcp", "isvw"),
                extra_global=' localHostname="isvw-gw3"')
