#!/usr/bin/env python3
"""(d) Crash test: a steady stream of mail (2000 messages over ~20 s, 40 of them infected,
~20000 log lines from relay1 and gw1) while the test kill -9s the correlator 4 times.

Every expected incident must reach the responder at least once (duplicates in transit are
fine: they are counted and printed), none may be missing, and nothing else may be reported
(no incident for a clean mail, no relay echo, no wrong origin). Every line sent must also be
in the correlator's journal: rsyslog re-sends what was not confirmed, so a kill loses nothing.
"""
import json
import os
import random
import signal
import threading
import time

import harness
from harness import Mail, check, log

MAILS = 2000
VIRUSES = 40
DURATION = 20.0
KILL_AT = (3.0, 7.5, 12.0, 16.5)


def body(lab):
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(4)
    infected = set(rng.sample(range(MAILS), VIRUSES))
    mails = []
    frames_sent = 0
    kills = []
    stop = threading.Event()
    t0 = time.time()

    def killer():
        previous = set()
        for at in KILL_AT:
            while time.time() - t0 < at:
                if stop.wait(0.05):
                    return
            pid = lab.wait_correlator(timeout=10, exclude=previous)
            if pid is None:
                kills.append(("no correlator found", time.time() - t0))
                continue
            os.kill(pid, signal.SIGKILL)
            previous.add(pid)
            kills.append((pid, round(time.time() - t0, 1)))
            log(f"kill -9 correlator pid {pid} at t+{time.time() - t0:.1f} s")

    k = threading.Thread(target=killer, daemon=True)
    k.start()
    for i in range(MAILS):
        due = t0 + i * DURATION / MAILS
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        virus = f"Win.Worm.Crash-{i}" if i in infected else None
        m = Mail(rng, i, virus=virus)
        mails.append(m)
        r, g = m.relay_lines(), m.gateway_lines()
        relay.send(*r)
        gw.send(*g)
        frames_sent += len(r) + len(g)
    log(f"sent {MAILS} mails ({VIRUSES} infected), {frames_sent} lines in "
        f"{time.time() - t0:.1f} s")
    k.join(timeout=10)
    stop.set()
    check(len(kills) == len(KILL_AT) and all(isinstance(p, int) for p, _ in kills),
          f"the correlator was killed {len(KILL_AT)} times: {kills}")

    infected_mails = [m for m in mails if m.virus]
    expected = {m.expected_id(): m for m in infected_mails}
    t_wait = time.time()
    ok = lab.responder.wait_for_ids(expected, timeout=60)
    log(f"all expected incidents present {time.time() - t_wait:.1f} s after the stream ended"
        if ok else "timed out waiting for the expected incidents")
    time.sleep(7.0)  # relay echoes settle 3 x clock_skew after their log time

    docs = lab.responder.incidents()
    ids = [d["id"] for d in docs]
    missing = sorted(set(expected) - set(ids))
    unexpected = sorted(set(ids) - set(expected))
    duplicates = len(ids) - len(set(ids))
    print(f"  responder: {len(ids)} POSTs, {len(set(ids))} distinct incidents, "
          f"{duplicates} duplicates, statuses {lab.responder.statuses}")
    check(not missing, f"no expected incident is missing ({len(missing)} missing: "
                       f"{[(i, expected[i].gw_qid) for i in missing][:10]})")
    if unexpected:
        with lab.responder.lock:
            posted_at = {}
            for (when, _, d, _) in lab.responder.posts:
                if d is not None:
                    posted_at.setdefault(d["id"], when)
        by_virus = {m.virus: m for m in infected_mails}
        for d in docs:
            if d["id"] in unexpected:
                m = by_virus.get(d.get("virus"))
                note = ""
                if m is not None:
                    gw_at = posted_at.get(m.expected_id())
                    note = (f" [mail {m.n} sent t+{m.t - t0:.2f} s; this POST t+"
                            f"{posted_at[d['id']] - t0:.2f} s; gw1's incident POST t+"
                            f"{(gw_at - t0) if gw_at else float('nan'):.2f} s]")
                print("   unexpected:", json.dumps({k: d.get(k) for k in (
                    "id", "detector", "virus", "confidence", "note")})[:300] + note)
    check(not unexpected, f"no unexpected incident ({len(unexpected)})")
    last = {d["id"]: d for d in docs}
    for iid, m in expected.items():
        d = last[iid]
        if not (d.get("confidence") == "exact" and (d.get("origin") or {}).get("ip") == m.pc_ip
                and [h.get("host") for h in d.get("hops", [])] == ["gw1", "relay1"]):
            harness.check_gateway_incident(d, m, f"mail {m.n}")
    check(True, f"all {len(expected)} incidents exact, gw1 -> relay1, origin = the sending PC")

    # rsyslog's view: it noticed the kills and restarted the program
    restarts = lab.restarts_seen()
    print(f"  rsyslog restarted the correlator {restarts} times "
          f"(internal log 'will be restarted' lines)")
    rebuilt = [line for line in lab.read(lab.correlator_log).splitlines() if "rebuilt state" in line]
    print(f"  correlator start-ups that rebuilt state from the journal: {len(rebuilt)}: "
          + "; ".join(r.split(": ", 1)[-1] for r in rebuilt))
    jl = lab.jsonl_docs()
    print(f"  JSON-lines file: {len(jl)} lines, {len({d['id'] for d in jl})} distinct ids")

    # every line that was sent reached the correlator's journal at least once
    journal = harness.journal_lines(lab.state)
    seen = set()
    for j in journal:
        seen.add((j["fromhost-ip"], j["msg"].lstrip(" ")))
    sent = set()
    for m in mails:
        for frame in m.relay_lines():
            sent.add(("127.0.0.3", frame.decode().split(": ", 1)[1].rstrip("\n")))
    print(f"  journal: {len(journal)} rows, {len(seen)} distinct lines, "
          f"{len(journal) - len(seen)} re-sent after a kill")
    lost = [s for s in sent if s not in seen]
    check(not lost, f"every relay line sent is in the journal ({len(lost)} of {len(sent)} "
                    f"missing{': ' + repr(lost[:3]) if lost else ''})")
    gw_lines = sum(len(m.gateway_lines()) for m in mails)
    gw_seen = sum(1 for (ip, _) in seen if ip == "127.0.0.2")
    check(gw_seen == gw_lines, f"every gateway line is in the journal ({gw_seen} of {gw_lines})")


if __name__ == "__main__":
    harness.run("crash_kill9_under_load", body)
