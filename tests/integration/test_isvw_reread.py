#!/usr/bin/env python3
"""imfile reads the InterScan VirusWall log again after rsyslogd lost its read position (it died
before saving imfile's state file): the record the correlator already traced arrives a second
time, with the same file name and offset (the shipped template's addMetadata fields), and must
not become a second incident. A second worm mail with the identical record, later in the file,
still is one. Sites, lines and record as in test_isvw_imfile.py.
"""
import glob
import os
import random
import time

import harness
from harness import Mail, check, log
from test_isvw_imfile import YAML, send_mta_lines


def isvw_record(m, t):
    date = time.strftime("%m/%d/%y %H:%M:%S", time.gmtime(t))
    return (f"Date: {date}\nMethod: SMTP\nFrom: {m.sender}\nTo: <{m.rcpt}>\n"
            "File: invoice.exe\nAction: deleted\nVirus: WORM_LOVGATE.F\n")


def wait_incidents(lab, n, timeout=40):  # settle_timeout (10 s) + readTimeout + load
    deadline = time.time() + timeout
    while time.time() < deadline and len(lab.responder.incidents()) < n:
        time.sleep(0.2)
    return lab.responder.incidents()


def body(lab):
    open(lab.isvw_log, "w").close()
    lab.start()
    rng = random.Random(11)
    m = Mail(rng, 1, sender="info@example.net", rcpt="suzuki@example.ac.jp")
    send_mta_lines(lab.sender("127.0.0.3"), lab.sender("127.0.0.4"), m, "6AS50wTQ028968")
    record = isvw_record(m, m.t + 1.0)
    with open(lab.isvw_log, "a", encoding="utf-8") as f:
        f.write(record)
    docs = wait_incidents(lab, 1)
    check(len(docs) == 1, f"the record is one incident (got {len(docs)})")
    first_id = docs[0]["id"]

    # rsyslogd "dies" without its imfile state: stopped, and the state file it saved removed,
    # as if it had crashed before writing it. The next rsyslogd reads the log from the start.
    lab.stop_rsyslogd()
    states = glob.glob(os.path.join(lab.work, "imfile-state:*"))
    check(len(states) == 1, f"imfile saved its read position ({states})")
    for path in states:
        os.unlink(path)
    lab.start(responder=False)
    stats = lab.wait_stats(lambda s: s.get("reread_skipped", 0) >= 1, timeout=40)
    check(stats.get("reread_skipped") == 1,
          f"the record read again is recognised (reread_skipped {stats.get('reread_skipped')})")
    time.sleep(3)  # anything the re-read would trace has settled by now (clock_skew 2 s)
    docs = lab.responder.incidents()
    check([d["id"] for d in docs] == [first_id], f"still one incident ({[d['id'] for d in docs]})")

    # The worm sends the same envelope again in the same second: ISVW logs an identical record
    # after the first. It is a mail of its own.
    m2 = Mail(rng, 2, sender="info@example.net", rcpt="suzuki@example.ac.jp")
    m2.t = m.t
    send_mta_lines(lab.sender("127.0.0.3"), lab.sender("127.0.0.4"), m2, "6AS50wTQ028969")
    with open(lab.isvw_log, "a", encoding="utf-8") as f:
        f.write(record)
    docs = wait_incidents(lab, 2)
    check(len(docs) == 2, f"the identical record further down the file is a second incident "
                          f"(got {len(docs)})")
    check(len({d["id"] for d in docs}) == 2, "with an id of its own")


if __name__ == "__main__":
    harness.run("isvw_record_read_again", body, yaml_template=YAML, feeds=("tcp", "isvw"),
                extra_global=' localHostname="isvw-gw3"')
