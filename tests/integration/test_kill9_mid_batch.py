#!/usr/bin/env python3
"""A kill -9 in the middle of a batch loses nothing.

The correlator confirms a batch (all the complete lines one read() returned) only after their
journal write and the commit of the incidents they completed. Under rsyslog a batch is one
line, since omprog waits for each answer; here the test speaks the omprog protocol itself, as
rsyslog would, but writes 150 lines at a time (3000 before a kill), so every batch holds many
lines and a kill lands inside one. It kill -9s the correlator 8 times at random moments, each
time with lines written and not yet confirmed, restarts it and sends the unconfirmed lines
again (rsyslog's rule). Then: every line confirmed before a kill was in the journal at that
moment, every line ends up in the journal, and every infected mail's incident reaches the
responder, exact, with the right origin, and nothing else does.
"""
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import harness
from harness import Mail, check, log

MAILS = 600
VIRUSES = 12
CHUNK = 150
KILLS = 8
BURST = 30 * CHUNK  # lines written while a kill lands


def frame_to_json(frame: bytes, fromhost_ip: str) -> str:
    """The line rsyslog's template (packaging/rsyslog/60-vtrace.conf) makes of a frame."""
    text = frame.decode("utf-8").rstrip("\n")
    body = text[text.index(">") + 1:]
    if body.startswith("1 "):  # RFC 5424: 1 STAMP HOST APP PROCID - - MSG
        _, stamp, host, app, procid, _, _, msg = body.split(" ", 7)
    else:  # RFC 3164: Mmm dd hh:mm:ss HOST APP[PID]: MSG
        local = time.strptime(f"{time.localtime().tm_year} {body[:15]}", "%Y %b %d %H:%M:%S")
        stamp = dt.datetime.fromtimestamp(time.mktime(local)).astimezone().isoformat()
        host, rest = body[16:].split(" ", 1)
        tag, msg = rest.split(": ", 1)
        app, procid = tag[:-1].split("[")
        msg = " " + msg
    return json.dumps({"timereported": stamp, "hostname": host, "fromhost-ip": fromhost_ip,
                       "app-name": app, "procid": procid, "msg": msg, "inputname": "imtcp"},
                      ensure_ascii=False, separators=(", ", ":"))


class Correlator:
    """vtrace-correlator in live mode on pipes, as omprog runs it; counts its answers."""

    def __init__(self, binary, config):
        self.proc = subprocess.Popen([binary, "--config", config], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lock = threading.Lock()
        self.answers = 0  # "OK" lines after the start-up one
        self.started = threading.Event()
        self.bad = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        pending = b""
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line != b"OK":
                    self.bad.append(line)
                elif not self.started.is_set():
                    self.started.set()
                else:
                    with self.lock:
                        self.answers += 1

    def confirmed(self):
        with self.lock:
            return self.answers

    def write(self, lines):
        try:
            self.proc.stdin.write("".join(line + "\n" for line in lines).encode("utf-8"))
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # killed while reading it: the lines it did not confirm are sent again

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=5)

    def close(self):
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=30)
        self.reader.join(timeout=5)
        return rc


def body(_lab):
    binary = harness.find_correlator()
    directory = tempfile.mkdtemp(prefix="vtrace-it-kill9-batch-")
    state = os.path.join(directory, "state")
    os.makedirs(state)
    responder = harness.Responder()
    responder.start()
    config = os.path.join(directory, "vtrace.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write(harness.DEFAULT_YAML.format(
            clock_skew="2s", pending_timeout="30s", responder_url=responder.url,
            jsonl=os.path.join(directory, "incidents.jsonl"), state_dir=state,
            stats_file=os.path.join(directory, "stats.json")))
    try:
        rng = random.Random(12)
        infected = set(rng.sample(range(MAILS), VIRUSES))
        mails = [Mail(rng, i, virus=f"Win.Worm.Batch-{i}" if i in infected else None)
                 for i in range(MAILS)]
        lines = []
        for m in mails:
            lines += [frame_to_json(f, "127.0.0.3") for f in m.relay_lines()]
            lines += [frame_to_json(f, "127.0.0.2") for f in m.gateway_lines()]
        log(f"{len(lines)} lines of {MAILS} mails ({VIRUSES} infected), {CHUNK} per write")

        sent = 0        # lines written to the current process
        confirmed = 0   # lines confirmed, over all processes: rsyslog resends from here
        kills_mid_batch = 0
        kill_at = sorted(rng.sample(range(CHUNK, len(lines) - BURST), KILLS))
        correlator = Correlator(binary, config)
        check(correlator.started.wait(15), "the correlator answers its start-up OK")
        base = 0
        while True:
            if kill_at and sent >= kill_at[0]:
                kill_at.pop(0)
                # A burst written by a thread while this one kills the correlator in the middle
                # of handling it (64 KiB reads: batches of ~190 lines; a few microseconds a
                # line, so the kill comes within a millisecond or two).
                writer = threading.Thread(target=correlator.write,
                                          args=(lines[sent:sent + BURST], ), daemon=True)
                writer.start()
                sent = min(len(lines), sent + BURST)
                time.sleep(rng.uniform(0.0002, 0.0015))
                before_kill = correlator.confirmed()
                correlator.kill()
                writer.join(timeout=5)
                done = base + correlator.confirmed()
                if done < sent:
                    kills_mid_batch += 1
                journalled = {(j["fromhost-ip"], j["msg"]) for j in harness.journal_lines(state)}
                unjournalled = [i for i in range(done)
                                if (json.loads(lines[i])["fromhost-ip"],
                                    json.loads(lines[i])["msg"]) not in journalled]
                check(not unjournalled, f"kill at line {sent}: all {done} confirmed lines are "
                                        f"in the journal ({len(unjournalled)} are not; "
                                        f"{before_kill + base} confirmed just before the kill)")
                confirmed = done
                correlator = Correlator(binary, config)
                check(correlator.started.wait(15), "the restarted correlator answers OK")
                base = confirmed
                sent = confirmed
            if sent >= len(lines):
                break
            chunk = lines[sent:sent + CHUNK]
            correlator.write(chunk)
            sent += len(chunk)
            # Let the batch be read before the next write, as rsyslog's pacing would.
            deadline = time.time() + 5
            while base + correlator.confirmed() < sent - CHUNK // 2 and time.time() < deadline:
                time.sleep(0.0005)
        # rsyslog keeps the program running: the detections of the last lines settle while it
        # idles (every source logged past them, or settle_timeout after they arrived).
        expected_ids = {m.expected_id() for m in mails if m.virus}
        responder.wait_for_ids(expected_ids, timeout=40)
        rc = correlator.close()
        check(rc == 0, f"the last correlator exits 0 at EOF (got {rc})")
        check(base + correlator.confirmed() == len(lines), "every line was confirmed")
        check(not correlator.bad, f"nothing but OK on stdout ({correlator.bad[:3]})")
        check(kills_mid_batch >= KILLS // 2,
              f"{kills_mid_batch} of {KILLS} kills landed with written lines unconfirmed")

        journal = harness.journal_lines(state)
        journalled = {(j["fromhost-ip"], j["msg"]) for j in journal}
        missing = [ln for ln in lines
                   if (json.loads(ln)["fromhost-ip"], json.loads(ln)["msg"]) not in journalled]
        check(not missing, f"every line is in the journal ({len(missing)} missing)")
        print(f"  journal: {len(journal)} lines for {len(lines)} sent "
              f"({len(journal) - len(journalled)} journalled twice: written, then resent)")

        # The incidents: the last process traced what was still pending when stdin closed.
        expected = {m.expected_id(): m for m in mails if m.virus}
        check(responder.wait_for_ids(expected, timeout=20),
              f"all {len(expected)} incidents reached the responder")
        docs = responder.incidents()
        unexpected = sorted({d["id"] for d in docs} - set(expected))
        check(not unexpected, f"no unexpected incident ({len(unexpected)})")
        last = {d["id"]: d for d in docs}
        wrong = [m.n for iid, m in expected.items()
                 if (last[iid].get("origin") or {}).get("ip") != m.pc_ip
                 or last[iid].get("confidence") != "exact"]
        check(not wrong, f"every incident is exact and names the sending PC (not: mails {wrong})")
    finally:
        responder.stop()
        if not os.environ.get("VTRACE_IT_KEEP"):
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    harness.run("kill9_mid_batch_loses_nothing", body, needs_correlator=False)
