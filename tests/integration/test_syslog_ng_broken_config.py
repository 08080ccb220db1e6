#!/usr/bin/env python3
"""syslog-ng collector: a correlator whose vtrace.yaml is broken never takes syslog-ng down.

With the shipped snippet enabled (the site also writes the tcp feed's lines to a file of its
own) and a typo in vtrace.yaml, mail lines arrive: syslog-ng keeps running and its other
destination keeps writing; the snippet's loop starts the correlator again and again (every 5 s
shipped, 1 s here), and each refusal gives the file:line:col diagnostic. syslog-ng is then
restarted while the correlator still cannot start, and more mail arrives. Once the file is
fixed (nothing else) the next start traces everything that waited.

What waits where, measured: the lines syslog-ng has written into the pipe count as delivered,
and a syslog-ng restart in this state loses them: at most the pipe's 64 KiB (MAX_LOST_LINES).
The correlator shrinks the pipe to one page (4 KiB) at its first start, which works when the
pipe holds less than that then (measured: 16 lines lost instead of ~250). Everything else waits
in the reliable disk buffer, across the restart, and is traced once the file is fixed.
"""
import re
import time

import harness
import syslog_ng_harness as sng
from harness import check, log, send_mails

RETRY_INTERVAL = 1  # the loop's pause in the tests (5 s shipped)
# A full pipe (Linux: 64 KiB) of lines over 150 bytes, and the line a write may have cut.
MAX_LOST_LINES = 65536 // 150 + 1


def refusals(lab):
    return lab.read(lab.correlator_log).count("refusing to start")


def lines_of(mails):
    out = []
    for m in mails:
        out += [("127.0.0.3", f.decode().split(": ", 1)[1].rstrip("\n")) for f in m.relay_lines()]
        out += [("127.0.0.2", f.decode().split(" - - ", 1)[1].rstrip("\n"))
                for f in m.gateway_lines()]
    return out


def body(lab):
    with open(lab.config, encoding="utf-8") as f:
        good = f.read()
    broken = good.replace("clock_skew: 2s", "clock_skw: 2s")
    with open(lab.config, "w", encoding="utf-8") as f:
        f.write(broken)
    bad_line = broken.splitlines().index("  clock_skw: 2s") + 1

    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = __import__("random").Random(1719)

    def virus(n):
        return f"Win.Worm.SngConfig-{n}" if n % 3 == 0 else None

    mails, frames = send_mails(relay, gw, rng, range(0, 100), virus)
    check(lab.wait_site_lines(frames) == frames,
          f"the site's own output got all {frames} lines at once")
    deadline = time.time() + 10
    while time.time() < deadline and refusals(lab) < 3:
        time.sleep(0.2)
    text = lab.read(lab.correlator_log)
    check(refusals(lab) >= 3, f"the correlator refused to start, again and again "
                              f"({refusals(lab)} refusals logged)")
    diagnostic = re.compile(re.escape(lab.config) + rf":{bad_line}:\d+: error\[[^\]]+\]: .*clock_skw")
    check(len(diagnostic.findall(text)) == refusals(lab),
          f"each refusal gives the file:line:col diagnostic ({lab.config}:{bad_line}:...)")
    check(lab.alive(), "syslog-ng is running")
    check(not lab.responder.ids(), "nothing was reported with a broken configuration")

    # `systemctl restart syslog-ng` while the correlator still cannot start, then more mail.
    lab.restart_syslog_ng()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    more, n = send_mails(relay, gw, rng, range(100, 130), virus)
    mails += more
    frames += n
    check(lab.wait_site_lines(frames) == frames, f"the site's output keeps flowing ({frames})")

    with open(lab.config, "w", encoding="utf-8") as f:
        f.write(good)
    fixed_at = time.time()
    log("vtrace.yaml fixed")
    deadline = time.time() + RETRY_INTERVAL + 20
    sent = lines_of(mails)
    while time.time() < deadline:
        seen = {(j["fromhost-ip"], j["msg"]) for j in harness.journal_lines(lab.state)}
        if sent[-1] in seen:
            break
        time.sleep(0.3)
    lost = [s for s in sent if s not in seen]
    print(f"  MEASURED: {len(sent)} lines, {len(lost)} lost across a syslog-ng restart while the "
          f"correlator could not start; the rest journalled {time.time() - fixed_at:.1f} s "
          "after the fix", flush=True)
    check(len(lost) <= MAX_LOST_LINES, f"at most a pipe's content was lost ({len(lost)} lines, "
                                       f"at most {MAX_LOST_LINES})")
    lost_set = set(lost)
    complete = [m for m in mails if m.virus and not any(s in lost_set for s in lines_of([m]))]
    expected = [m.expected_id() for m in complete]
    check(lab.responder.wait_for_ids(expected, timeout=20),
          f"every infected mail whose lines all arrived is traced once the file is fixed "
          f"({len(set(expected) & set(lab.responder.ids()))}/{len(expected)})")
    docs = {d["id"]: d for d in lab.responder.incidents()}
    for m in complete:
        d = docs[m.expected_id()]
        if d.get("confidence") != "exact" or [h["host"] for h in d["hops"]] != ["gw1", "relay1"]:
            harness.check_gateway_incident(d, m, m.virus)
    check(True, f"all {len(complete)} exact, gw1 -> relay1")
    check(lab.alive(), "syslog-ng is still running")


if __name__ == "__main__":
    sng.run("syslog_ng_survives_a_correlator_that_cannot_start", body, feeds=("tcp",),
            site_log=True)
