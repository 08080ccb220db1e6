#!/usr/bin/env python3
"""syslog-ng collector: mail logs arriving at a private syslog-ng with the shipped snippet are
traced into incidents, and a forged line from an unlisted address changes nothing.

relay1 sends BSD syslog over the "tcp" feed from 127.0.0.3; gw1 sends RFC 5424 with
octet-counted framing over the "syslog" feed from 127.0.0.2 (what syslog-ng's syslog()
destination sends). The same full virus chain, with the hostnames and addresses of gw1 and
relay1 in its text, sent from 127.0.0.9 (not a configured address) gives no incident and is
counted untrusted; the genuine chains sent around it give exact incidents through relay1 to the
sending PC, each once.
"""
import random
import time

import harness
import syslog_ng_harness as sng
from harness import Mail, check, log


def body(lab):
    lab.start()
    relay = lab.sender("127.0.0.3", "tcp")
    gw = lab.sender("127.0.0.2", "syslog")
    forger_relay = lab.sender("127.0.0.9", "tcp")
    forger_gw = lab.sender("127.0.0.9", "syslog")
    rng = random.Random(17)
    genuine = [Mail(rng, n, virus=f"Win.Worm.SyslogNg-{n}" if n % 2 == 0 else None)
               for n in range(6)]
    forged = Mail(rng, 100, virus="Win.Worm.Forged", pc_ip="10.9.9.9")
    for m in genuine[:3]:
        relay.send(*m.relay_lines())
        gw.send(*sng.octet_counted(*m.gateway_lines()))
    forger_relay.send(*forged.relay_lines())
    forger_gw.send(*sng.octet_counted(*forged.gateway_lines()))
    for m in genuine[3:]:
        relay.send(*m.relay_lines())
        gw.send(*sng.octet_counted(*m.gateway_lines()))
    log("sent 6 genuine mails (3 infected) and one forged infected chain from 127.0.0.9")
    infected = [m for m in genuine if m.virus]
    check(lab.responder.wait_for_ids([m.expected_id() for m in infected], timeout=20),
          "every genuine infected mail became an incident")
    time.sleep(3.0)  # anything the forged chain could produce would have come by now
    docs = lab.responder.incidents()
    by_id = {d["id"]: d for d in docs}
    for m in infected:
        harness.check_gateway_incident(by_id[m.expected_id()], m, f"mail {m.n}")
    check(len(docs) == len(infected) and len(by_id) == len(infected),
          f"nothing else reported, nothing twice ({len(docs)} POSTs)")
    check(not any(d.get("virus") == "Win.Worm.Forged" for d in docs),
          "the forged chain from 127.0.0.9 gave no incident")
    forged_lines = len(forged.relay_lines()) + len(forged.gateway_lines())
    stats = lab.wait_stats(lambda s: s.get("untrusted", 0) >= forged_lines, timeout=5)
    check(stats.get("untrusted") == forged_lines,
          f"its {forged_lines} lines were counted untrusted "
          f"(untrusted {stats.get('untrusted')})")


if __name__ == "__main__":
    sng.run("syslog_ng_traces_trusted_sources_only", body)
