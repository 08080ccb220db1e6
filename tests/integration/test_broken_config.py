#!/usr/bin/env python3
"""A correlator whose vtrace.yaml is broken never takes rsyslogd down, and loses nothing.

With the shipped snippet enabled and a typo in vtrace.yaml, mail lines arrive (the site also
writes them to a file of its own). rsyslogd keeps running and keeps writing its own output; the
correlator refuses to start, saying so in its log with the file:line:col diagnostic every time
rsyslog starts it again (every action.resumeInterval); the lines wait in the action's disk
queue, which is still there after rsyslogd is restarted. Once the file is fixed (nothing else:
no HUP, no restart), rsyslog's next attempt starts the correlator and every mail sent meanwhile
is traced, exact, once.
"""
import os
import random
import re
import time

import harness
from harness import check, log, send_mails

RETRY_INTERVAL = 10  # the snippet's action.resumeInterval


def refusals(lab):
    return lab.read(lab.correlator_log).count("refusing to start")


def body(lab):
    with open(lab.config, encoding="utf-8") as f:
        good = f.read()
    check("clock_skew: 2s" in good, "the test configuration has the key the typo breaks")
    broken = good.replace("clock_skew: 2s", "clock_skw: 2s")
    with open(lab.config, "w", encoding="utf-8") as f:
        f.write(broken)
    bad_line = broken.splitlines().index("  clock_skw: 2s") + 1

    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(14)
    # The first mail is infected on purpose. rsyslog retries the queue's oldest line while the
    # correlator cannot start; stopping rsyslogd then puts that line back at the END of the
    # disk queue, so after the restart the correlator gets it last: a relay's "client=" line
    # after the same queue id's "removed". The correlator links it back to its message.
    def virus(n):
        return f"Win.Worm.Config-{n}" if n % 3 == 0 else None

    mails, frames = send_mails(relay, gw, rng, range(0, 6), virus)
    check(lab.wait_site_lines(frames) == frames,
          f"the site's own output got all {frames} lines at once")

    deadline = time.time() + RETRY_INTERVAL + 8
    while time.time() < deadline and refusals(lab) < 2:
        time.sleep(0.2)
    text = lab.read(lab.correlator_log)
    check(refusals(lab) >= 2, f"the correlator refused to start, every time it was started "
                              f"({refusals(lab)} refusals logged)")
    diagnostic = re.compile(re.escape(lab.config) + rf":{bad_line}:\d+: error\[[^\]]+\]: .*clock_skw")
    check(len(diagnostic.findall(text)) == refusals(lab),
          f"each refusal gives the file:line:col diagnostic ({lab.config}:{bad_line}:...)")
    check(lab.rsyslogd_alive(), "rsyslogd is running")
    check(not lab.responder.ids(), "nothing was reported with a broken configuration")

    # More mail, then `systemctl restart rsyslog` while the correlator still cannot start.
    more, n = send_mails(relay, gw, rng, range(6, 9), virus)
    mails += more
    frames += n
    check(lab.wait_site_lines(frames) == frames, f"the site's output keeps flowing ({frames})")
    time.sleep(0.5)
    lab.stop_rsyslogd()
    queued = lab.queue_files()
    check(any(not name.endswith(".qi") and size > 0 for name, size in queued.items()),
          f"the lines wait in the action's disk queue across the restart ({queued})")
    lab.start(responder=False)
    check(lab.rsyslogd_alive(), "rsyslogd started again on the same work directory")
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    more, n = send_mails(relay, gw, rng, range(9, 12), virus)
    mails += more
    frames += n
    check(lab.wait_site_lines(frames) == frames, f"the site's output keeps flowing ({frames})")

    # The fix: the file only.
    with open(lab.config, "w", encoding="utf-8") as f:
        f.write(good)
    fixed_at = time.time()
    log("vtrace.yaml fixed")
    infected = [m for m in mails if m.virus]
    expected = [m.expected_id() for m in infected]
    check(lab.responder.wait_for_ids(expected, timeout=RETRY_INTERVAL + 25),
          f"every mail sent while the configuration was broken is traced once it is fixed "
          f"({len(set(expected) & set(lab.responder.ids()))}/{len(expected)}, missing "
          f"{harness.missing_mails(lab, [m for m in mails if m.virus])} after "
          f"{time.time() - fixed_at:.1f} s)")
    journal = harness.journal_lines(lab.state)
    first = mails[0].relay_lines()[0].decode().split(": ", 1)[1].rstrip("\n")
    position = [j["msg"].lstrip(" ") for j in journal].index(first) + 1
    print(f"  the first line sent reached the correlator as line {position} of {len(journal)}")
    check(len(journal) == frames, f"every line sent is in the journal ({len(journal)}/{frames})")
    docs = {d["id"]: d for d in lab.responder.incidents()}
    for m in infected:
        harness.check_gateway_incident(docs[m.expected_id()], m, m.virus)
    time.sleep(1.5)
    ids = lab.responder.ids()
    check(sorted(set(ids)) == sorted(expected), f"nothing else was reported ({ids})")
    check(lab.rsyslogd_alive(), "rsyslogd is still running")


if __name__ == "__main__":
    harness.run("broken_config", body, site_log=True)
