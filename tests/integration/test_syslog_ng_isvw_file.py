#!/usr/bin/env python3
"""syslog-ng collector, the shipped "isvw" feed: an InterScan VirusWall virus log read by file()
with multi-line records starting at "Date: " (multi-line-timeout hands the last one over). The
record reaches the correlator as one message with its line breaks, marked "local", so it is
trusted by the collector's own hostname; it is matched by envelope to gw3's sendmail lines
(sent over TCP from gw3's address) and traced through relay1 to the PC. The attachment name is
Japanese. A record claiming the same hostname over TCP from an unlisted address is not trusted.
"""
import random
import socket
import time

import harness
import syslog_ng_harness as sng
import test_isvw_imfile as isvw
from harness import Mail, check, log, rfc3164

# syslog-ng names the collector's own lines with its short host name (use-fqdn(no)).
HOSTNAME = socket.gethostname().split(".")[0]
YAML = isvw.YAML.replace("hostnames: [isvw-gw3]", f"hostnames: [{HOSTNAME}]")


def body(lab):
    open(lab.isvw_log, "w").close()
    lab.start()
    relay = lab.sender("127.0.0.3")
    gw3 = lab.sender("127.0.0.4")
    forger = lab.sender("127.0.0.9")
    rng = random.Random(9)
    m = Mail(rng, 1, sender="info@example.net", rcpt="suzuki@example.ac.jp")
    isvw.send_mta_lines(relay, gw3, m, "6AS50wTQ028968")
    date = time.strftime("%m/%d/%y %H:%M:%S", time.gmtime(m.t + 1.0))
    record = (f"Date: {date}\nMethod: SMTP\nFrom: {m.sender}\nTo: <{m.rcpt}>\n"
              "File: 請求書_2026.exe\nAction: deleted\nVirus: WORM_LOVGATE.F\n")
    forger.send(rfc3164(HOSTNAME, "isvw", 1, "Date: " + date + " Method: SMTP From: "
                        f"{m.sender} To: <{m.rcpt}> File: x.exe Action: deleted "
                        "Virus: WORM_FORGED", m.t + 1.0))
    with open(lab.isvw_log, "a", encoding="utf-8") as f:
        f.write(record)
    log("sent relay1's and gw3's MTA lines; appended one ISVW record to the file")

    deadline = time.time() + 20
    while time.time() < deadline and not lab.responder.incidents():
        time.sleep(0.2)
    time.sleep(1.0)
    docs = lab.responder.incidents()
    check(len(docs) == 1, f"one incident delivered (got {len(docs)})")
    d = docs[0]
    check(d["detector"] == {"host": "gw3", "format": "isvw"}, f"detected by gw3's ISVW ({d['detector']})")
    check(d.get("virus") == "WORM_LOVGATE.F", "the virus of the record in the file, not the forged one")
    check((d.get("message") or {}).get("files") == ["請求書_2026.exe"],
          f"the Japanese file name arrived intact ({(d.get('message') or {}).get('files')})")
    hops = [h.get("host") for h in d.get("hops", [])]
    check(hops == ["gw3", "relay1"], f"hops gw3 -> relay1 (got {hops})")
    check((d.get("origin") or {}).get("ip") == m.pc_ip, f"origin {m.pc_ip} ({d.get('origin')})")
    stats = lab.wait_stats(lambda s: s.get("untrusted", 0) >= 1, timeout=5)
    check(stats.get("untrusted") == 1 and stats.get("undecodable") == 0,
          f"the forged line is the one untrusted line, nothing undecodable ({stats.get('untrusted')}"
          f", {stats.get('undecodable')})")


if __name__ == "__main__":
    sng.run("syslog_ng_reads_isvw_records_from_a_file", body, yaml_template=YAML,
            feeds=("tcp", "isvw"))
