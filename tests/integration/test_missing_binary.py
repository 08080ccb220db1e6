#!/usr/bin/env python3
"""The package removed while the snippet stays enabled: rsyslogd keeps running; reinstalling
makes vtrace work again, with every line from meanwhile, without editing anything.

`apt-get remove vtrace` deletes /usr/bin/vtrace-correlator but keeps the snippet (a conffile,
removed only on purge). Here the omprog action's binary is a path that does not exist yet: rsyslog
fails to execute it, retries every action.resumeInterval, keeps writing the site's own output,
and keeps vtrace's lines in the action's disk queue. "Reinstalling" puts the binary at that path;
rsyslog's next attempt starts it and every mail sent while it was missing is traced.
"""
import os
import random
import time

import harness
from harness import check, log, send_mails

RETRY_INTERVAL = 10  # the snippet's action.resumeInterval


def missing_binary(lab_dir):
    return os.path.join(lab_dir, "usr-bin", "vtrace-correlator")


def body(lab):
    check(not os.path.exists(lab.binary), f"the action's binary {lab.binary} does not exist")
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(15)
    def virus(n):
        return f"Win.Worm.Removed-{n}" if n % 2 == 0 else None

    mails, frames = send_mails(relay, gw, rng, range(0, 4), virus)
    check(lab.wait_site_lines(frames) == frames,
          f"the site's own output got all {frames} lines at once")
    # Long enough for rsyslog to try (and fail) at least twice.
    time.sleep(RETRY_INTERVAL + 3)
    more, n = send_mails(relay, gw, rng, range(4, 8), virus)
    mails += more
    frames += n
    check(lab.wait_site_lines(frames) == frames, f"the site's output keeps flowing ({frames})")
    check(lab.rsyslogd_alive(), "rsyslogd is running with the binary missing")
    internal = lab.read(lab.internal_log)
    failures = internal.count("exited with status 1")
    check(failures >= 2, f"rsyslog tried to start the missing binary again ({failures} failures "
                         "in its log)")
    check(not lab.responder.ids(), "nothing reported while the binary is missing")

    # "apt-get install vtrace" again: the binary is back at the same path.
    os.makedirs(os.path.dirname(lab.binary))
    os.symlink(lab.correlator, lab.binary)
    installed_at = time.time()
    log("binary reinstalled")
    expected = [m.expected_id() for m in mails if m.virus]
    check(lab.responder.wait_for_ids(expected, timeout=RETRY_INTERVAL + 25),
          f"every mail sent while the binary was missing is traced after the reinstall "
          f"({len(set(expected) & set(lab.responder.ids()))}/{len(expected)}, missing "
          f"{harness.missing_mails(lab, [m for m in mails if m.virus])} after "
          f"{time.time() - installed_at:.1f} s)")
    docs = {d["id"]: d for d in lab.responder.incidents()}
    for m in mails:
        if m.virus:
            harness.check_gateway_incident(docs[m.expected_id()], m, m.virus)
    check(len(lab.correlator_pids()) == 1, "one correlator runs")
    check(lab.rsyslogd_alive(), "rsyslogd is still running")


if __name__ == "__main__":
    harness.run("missing_binary", body, binary=missing_binary, site_log=True)
