#!/usr/bin/env python3
"""A correlator that crashes on every line (a bug, a broken library after an upgrade) never
takes rsyslogd down, and the lines it crashed on are traced once it stops crashing.

The omprog action runs a wrapper that, while the test's "crash" switch is on, answers rsyslog's
start-up "OK", reads one line and dies of SIGSEGV; with the switch off it execs the real
correlator. rsyslog restarts it again and again (about once a second, with a resumeInterval
pause after every ten), keeps writing the site's own output, and keeps the unconfirmed lines in
the action's disk queue; once the crashes stop every mail sent meanwhile is traced.
"""
import os
import random
import stat
import time

import harness
from harness import check, log, send_mails


def wrapper_path(lab_dir):
    return os.path.join(lab_dir, "crashing-correlator")


def write_wrapper(lab):
    switch = os.path.join(lab.dir, "crash")
    crashes = os.path.join(lab.dir, "crashes")
    with open(lab.binary, "w", encoding="utf-8") as f:
        f.write(f"""#!/bin/sh
# Test stand-in for a correlator with a crash bug (see the test's docstring).
if [ -e '{switch}' ]; then
    echo OK
    read -r line
    echo "crashed on: $line" >> '{crashes}'
    ulimit -c 0
    kill -SEGV $$
fi
exec '{lab.correlator}' "$@"
""")
    os.chmod(lab.binary, stat.S_IRWXU)
    open(switch, "w").close()
    return switch, crashes


def body(lab):
    switch, crashes = write_wrapper(lab)
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(17)
    def virus(n):
        return f"Win.Worm.Crash-{n}" if n % 2 == 0 else None

    mails, frames = send_mails(relay, gw, rng, range(0, 4), virus)
    check(lab.wait_site_lines(frames) == frames,
          f"the site's own output got all {frames} lines at once")
    deadline = time.time() + 20
    while time.time() < deadline and lab.read(crashes).count("crashed on") < 4:
        time.sleep(0.2)
    n = lab.read(crashes).count("crashed on")
    check(n >= 4, f"the correlator crashed again and again ({n} crashes)")
    check("terminated by signal 11" in lab.read(lab.internal_log),
          "rsyslog saw the crashes (terminated by signal 11)")
    more, n = send_mails(relay, gw, rng, range(4, 8), virus)
    mails += more
    frames += n
    check(lab.wait_site_lines(frames) == frames, f"the site's output keeps flowing ({frames})")
    check(lab.rsyslogd_alive(), "rsyslogd is running through the crash loop")
    check(not lab.responder.ids(), "nothing reported while crashing")

    os.unlink(switch)
    fixed_at = time.time()
    log(f"crashes stopped after {lab.read(crashes).count('crashed on')}")
    expected = [m.expected_id() for m in mails if m.virus]
    check(lab.responder.wait_for_ids(expected, timeout=40),
          f"every mail sent during the crash loop is traced once it stops "
          f"({len(set(expected) & set(lab.responder.ids()))}/{len(expected)}, missing "
          f"{harness.missing_mails(lab, [m for m in mails if m.virus])} after "
          f"{time.time() - fixed_at:.1f} s)")
    docs = {d["id"]: d for d in lab.responder.incidents()}
    for m in mails:
        if m.virus:
            harness.check_gateway_incident(docs[m.expected_id()], m, m.virus)
    time.sleep(1.5)
    check(sorted(set(lab.responder.ids())) == sorted(expected), "nothing else was reported")
    check(lab.rsyslogd_alive(), "rsyslogd is still running")


if __name__ == "__main__":
    harness.run("crash_loop", body, binary=wrapper_path, site_log=True)
