#!/usr/bin/env python3
"""Checks vtrace incidents against the generator's truth.jsonl.

Usage: check_truth.py truth.jsonl incidents.jsonl [--json OUT]

A truth entry (one virus mail: detector host, its queue id there, message-id, true origin) is
*found* when an incident of the same detector names the same queue id (in `message` or in its
first hop on the detector) or the same Message-ID. ISVW detections carry neither, so for them
an incident also counts when its envelope (sender and a recipient) matches and its detection
time is within 3 s. The entry is *correct* when such an incident's `origin.ip` is the true
origin. Recall = correct / entries; it is also given over the decidable entries only (the
generator marks an ISVW detection undecidable when another gw2 message with the same envelope
arrived within 10 s: no tool can tell them apart by envelope and time).

Prints a summary (and the first wrong/missing examples); exit status is always 0.
"""
import json
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone


def norm(m):
    return (m or "").strip().strip("<>").lower()


def when(s):
    try:
        t = datetime.fromisoformat(str(s).replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def main():
    truth = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    incs, bad = [], 0
    for line in open(sys.argv[2]):
        if not line.strip():
            continue
        try:
            incs.append(json.loads(line))
        except ValueError:
            bad += 1
    by_qid, by_mid, by_host = defaultdict(list), defaultdict(list), defaultdict(list)
    for i, inc in enumerate(incs):
        host = (inc.get("detector") or {}).get("host")
        msg = inc.get("message") or {}
        by_host[host].append(i)
        qids = {msg.get("queue_id")}
        for hop in inc.get("hops") or []:
            if hop.get("host") == host:
                qids.add(hop.get("queue_id"))
                break
        for q in qids - {None, ""}:
            by_qid[(host, q)].append(i)
        if msg.get("message_id"):
            by_mid[(host, norm(msg["message_id"]))].append(i)

    used = set()
    stats = Counter()
    per_kind = defaultdict(Counter)
    examples = defaultdict(list)
    for tr in truth:
        host = tr["host"]
        cands = list(dict.fromkeys(by_qid.get((host, tr["queue_id"]), []) +
                                   by_mid.get((host, norm(tr["message_id"])), [])))
        how = "id"
        if not cands:
            how = "envelope"
            t0 = when(tr["det_time"])
            for i in by_host.get(host, []):
                inc = incs[i]
                env = inc.get("envelope") or {}
                tos = [norm(x) for x in env.get("to") or []]
                if norm(tr["to"]) not in tos or norm(env.get("from")) != norm(tr["from"]):
                    continue
                t1 = when(inc.get("detected_at"))
                if t0 and t1 and abs((t1 - t0).total_seconds()) <= 3.0:
                    cands.append(i)
        pre = "" if tr.get("decidable", True) else "undecidable_"
        kind = tr.get("kind", "?")
        if not cands:
            outcome = "missing"
        else:
            origins = {((incs[i].get("origin") or {}).get("ip") or "").lower() for i in cands}
            confs = {incs[i].get("confidence") for i in cands}
            used.update(cands)
            if tr["origin"].lower() in origins:
                outcome = "correct"
            elif origins - {""}:
                outcome = "wrong"
            elif "ambiguous" in confs:
                listed = any(tr["origin"].lower() == (c.get("origin_ip") or "").lower()
                             for i in cands for c in incs[i].get("candidates") or [])
                outcome = "ambiguous_listed" if listed else "ambiguous_not_listed"
            else:
                outcome = "no_origin"  # unresolved
        stats[pre + outcome] += 1
        per_kind[kind][outcome] += 1
        stats["matched_by_" + how] += 1 if cands else 0
        if outcome != "correct" and len(examples[outcome]) < 5:
            ex = {"truth": tr}
            if cands:
                inc = incs[cands[0]]
                ex["incident"] = {"confidence": inc.get("confidence"),
                                  "origin": inc.get("origin"),
                                  "hops": inc.get("hops"), "note": inc.get("note")}
            examples[outcome].append(ex)

    n = len(truth)
    dec = [t for t in truth if t.get("decidable", True)]
    correct = stats["correct"] + stats["undecidable_correct"]
    unmatched = [incs[i] for i in range(len(incs)) if i not in used]
    conf = Counter(inc.get("confidence") for inc in incs)
    result = {
        "truth": n, "decidable": len(dec), "incidents": len(incs), "bad_json": bad,
        "correct": correct, "recall": correct / n if n else 0.0,
        "recall_decidable": stats["correct"] / len(dec) if dec else 0.0,
        "wrong_origin": stats["wrong"] + stats["undecidable_wrong"],
        "outcomes": dict(stats), "by_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
        "incidents_by_confidence": dict(conf),
        "incidents_without_truth": len(unmatched),
        "incidents_without_truth_by_detector": dict(Counter(
            f"{(i.get('detector') or {}).get('host')}/{(i.get('detector') or {}).get('format')}"
            for i in unmatched)),
    }
    print(f"truth: {n} virus mails ({len(dec)} decidable); incidents: {len(incs)} "
          f"{dict(conf)}")
    print(f"recall: {correct}/{n} = {100 * result['recall']:.2f} % "
          f"(decidable only: {stats['correct']}/{len(dec)} = "
          f"{100 * result['recall_decidable']:.2f} %)")
    print(f"wrong origins: {result['wrong_origin']}; outcomes: {dict(sorted(stats.items()))}")
    for k, v in sorted(per_kind.items()):
        print(f"  {k:22s} {dict(sorted(v.items()))}")
    if unmatched:
        print(f"incidents matching no truth entry: {len(unmatched)} "
              f"{result['incidents_without_truth_by_detector']}")
    for outcome, exs in examples.items():
        for ex in exs[:2]:
            print(f"  e.g. {outcome}: {json.dumps(ex)[:600]}")
    if len(sys.argv) > 4 and sys.argv[3] == "--json":
        with open(sys.argv[4], "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
