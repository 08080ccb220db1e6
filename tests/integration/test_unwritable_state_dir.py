#!/usr/bin/env python3
"""A state directory the correlator cannot write never takes rsyslogd down, and loses nothing.

The correlator journals every line in output.state_dir before confirming it, so without that
directory it cannot accept anything: it refuses to start, saying why in its log every time
rsyslog starts it again. rsyslogd keeps running and writing the site's own output; vtrace's lines
wait in the action's disk queue. Once the directory is usable, rsyslog's next attempt starts the
correlator and every mail sent meanwhile is traced.

Permissions do not stop root, so as root the state directory is replaced by a plain file (the
correlator then fails on the same first write, with "Not a directory"); otherwise it is made
read-only (mode 0500, "Permission denied").
"""
import os
import random
import shutil
import time

import harness
from harness import check, log, send_mails

RETRY_INTERVAL = 10  # the snippet's action.resumeInterval


def refusals(lab):
    return lab.read(lab.correlator_log).count("refusing to start")


def body(lab):
    as_root = os.geteuid() == 0
    if as_root:
        os.rmdir(lab.state)
        with open(lab.state, "w", encoding="utf-8") as f:
            f.write("not a directory\n")
        reason = "Not a directory"
    else:
        os.chmod(lab.state, 0o500)
        reason = "Permission denied"
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(16)
    def virus(n):
        return f"Win.Worm.State-{n}" if n % 2 == 1 else None

    mails, frames = send_mails(relay, gw, rng, range(0, 4), virus)
    check(lab.wait_site_lines(frames) == frames,
          f"the site's own output got all {frames} lines at once")
    deadline = time.time() + RETRY_INTERVAL + 8
    while time.time() < deadline and refusals(lab) < 2:
        time.sleep(0.2)
    text = lab.read(lab.correlator_log)
    check(refusals(lab) >= 2, f"the correlator refused to start every time it was started "
                              f"({refusals(lab)} refusals)")
    check(f"{lab.state}/correlator.lock: {reason}" in text,
          f"the refusal names the state directory and the reason ({reason})")
    more, n = send_mails(relay, gw, rng, range(4, 8), virus)
    mails += more
    frames += n
    check(lab.wait_site_lines(frames) == frames, f"the site's output keeps flowing ({frames})")
    check(lab.rsyslogd_alive(), "rsyslogd is running")
    check(not lab.responder.ids(), "nothing reported without a state directory")

    if as_root:
        os.unlink(lab.state)
        os.makedirs(lab.state)
    else:
        os.chmod(lab.state, 0o750)
    repaired_at = time.time()
    log("state directory repaired")
    expected = [m.expected_id() for m in mails if m.virus]
    check(lab.responder.wait_for_ids(expected, timeout=RETRY_INTERVAL + 25),
          f"every mail sent meanwhile is traced once the directory is usable "
          f"({len(set(expected) & set(lab.responder.ids()))}/{len(expected)}, missing "
          f"{harness.missing_mails(lab, [m for m in mails if m.virus])} after "
          f"{time.time() - repaired_at:.1f} s)")
    lines = harness.journal_lines(lab.state)
    check(len(lines) == frames, f"every line sent is in the journal ({len(lines)}/{frames})")
    check(lab.rsyslogd_alive(), "rsyslogd is still running")


if __name__ == "__main__":
    harness.run("unwritable_state_dir", body, site_log=True)
