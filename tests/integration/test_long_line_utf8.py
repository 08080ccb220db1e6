#!/usr/bin/env python3
"""(c) A ~10 KB subject and UTF-8 Japanese text survive rsyslog -> omprog -> correlator ->
responder intact, and every incident is valid JSON (strict UTF-8) at the responder and in the
JSON-lines file. A subject with an invalid UTF-8 byte is repaired by mmutf8fix (the shipped
ruleset runs it before omprog) instead of breaking the JSON line.

The long clamav-milter line is ~10.4 KB: over rsyslog's default 8 KiB maxMessageSize, so the
test instance sets global(maxMessageSize="64k") as the shipped snippet's header recommends.
"""
import random
import time

import harness
from harness import Mail, check, log


def body(lab):
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(3)

    jp = "【重要】請求書のご確認をお願いします（ウイルス検出テスト）"
    long_subject = ("長い件名 long subject " + "ABCDEFGHIJ0123456789" * 500 + " 終わり")
    check(len(long_subject.encode("utf-8")) > 10_000, "the long subject is over 10 KB")
    mails = [
        Mail(rng, 1, virus="Win.Worm.Mydoom-1", subject=long_subject),
        Mail(rng, 2, virus="Win.Trojan.Agent-3", subject=jp, sender="請求@example.jp".replace(
            "請求", "seikyu"), rcpt="tanaka@example.ac.jp"),
        # an invalid UTF-8 byte (0xFF) in the subject: raw bytes on the wire
        Mail(rng, 3, virus="Win.Worm.Bad-Bytes", subject="bad\udcffbyte 件名"),
    ]
    for m in mails:
        relay.send(*m.relay_lines())
        gw.send(*m.gateway_lines())
    longest = max(len(f) for m in mails for f in m.gateway_lines())
    log(f"sent 3 virus mails; longest frame {longest} bytes")

    expected = [m.expected_id() for m in mails]
    check(lab.responder.wait_for_ids(expected, timeout=20), "all three incidents delivered")
    time.sleep(1.0)
    check(lab.responder.bad_json == 0, "every POST body was valid UTF-8 JSON")
    by_id = {d["id"]: d for d in lab.responder.incidents()}
    check(len(lab.responder.incidents()) == 3, "exactly three POSTs")

    def subject(doc):
        return (doc.get("message") or {}).get("subject")

    long_doc = by_id[mails[0].expected_id()]
    harness.check_gateway_incident(long_doc, mails[0], "10 KB subject")
    check(subject(long_doc) == long_subject,
          f"the 10 KB subject arrived intact ({len(subject(long_doc) or '')} of "
          f"{len(long_subject)} characters)")
    check(any(long_subject in e for e in long_doc.get("evidence", [])),
          "the evidence line carries the whole long subject")

    jp_doc = by_id[mails[1].expected_id()]
    harness.check_gateway_incident(jp_doc, mails[1], "Japanese subject")
    check(subject(jp_doc) == jp, f"the Japanese subject arrived intact: {subject(jp_doc)}")

    bad_doc = by_id[mails[2].expected_id()]
    harness.check_gateway_incident(bad_doc, mails[2], "invalid UTF-8")
    check(subject(bad_doc) == "bad?byte 件名",
          f"mmutf8fix replaced the invalid byte with '?' (got {subject(bad_doc)!r})")

    docs = lab.jsonl_docs()  # raises on invalid UTF-8 or JSON
    check(sorted(d["id"] for d in docs) == sorted(expected),
          "the JSON-lines file holds the three incidents, valid UTF-8 JSON")
    check(any(subject(d) == long_subject for d in docs), "the JSON-lines file keeps the 10 KB subject")
    stats = lab.stats()
    check(stats.get("undecodable") == 0, "no line was undecodable")
    check(lab.restarts_seen() == 0, "rsyslog never had to restart the correlator")


if __name__ == "__main__":
    harness.run("long_line_and_utf8", body)
