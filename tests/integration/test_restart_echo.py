#!/usr/bin/env python3
"""A relay's echo of a gateway detection stays suppressed across a correlator restart.

relay1 logs "status=bounced (... 550 5.7.1 Virus X detected by gateway ...)" for a mail that gw1
rejected. That line is a detection too, but it only echoes gw1's own detection: the correlator
suppresses it once gw1's incident covers relay1's record. Here the relay's lines reach the
collector just before the gateway's (as they often do: the relay logs its bounce while the
gateway is still logging), the echo is suppressed in the running correlator, then the
correlator is kill -9ed and restarted by rsyslog. Rebuilding from the journal must not turn
the echo into a second incident (detector relay1).
"""
import os
import random
import signal
import time

import harness
from harness import Mail, check, log


def body(lab):
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    m = Mail(random.Random(6), 1, virus="Win.Worm.Echo-1")
    relay.send(*m.relay_lines())
    time.sleep(0.3)  # the relay's lines are journalled before the gateway's
    gw.send(*m.gateway_lines())
    check(lab.responder.wait_for_ids([m.expected_id()], timeout=15), "gw1's incident delivered")
    # the echo settles 3 x clock_skew (6 s) after its log time; let it be suppressed live
    time.sleep(max(0.0, m.t + 0.6 + 6 + 1.5 - time.time()))
    check(lab.responder.ids() == [m.expected_id()], "the relay's echo was suppressed (live)")

    pid = lab.wait_correlator()
    os.kill(pid, signal.SIGKILL)
    log(f"kill -9 correlator pid {pid}")
    time.sleep(0.3)
    relay.send(*Mail(random.Random(7), 2).relay_lines())  # the next message restarts it
    check(lab.wait_correlator(timeout=10, exclude={pid}) is not None, "correlator restarted")
    time.sleep(3.0)
    docs = lab.responder.incidents()
    check([d["id"] for d in docs] == [m.expected_id()],
          "no second incident after the restart (got "
          f"{[(d['id'], d['detector']['host']) for d in docs]})")


if __name__ == "__main__":
    harness.run("restart_keeps_relay_echo_suppressed", body)
