// The engine: idempotent ingestion, thresholds, digest windows, routing of mail, the outbox.
#include "responder/engine.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "responder/store/sqlite.hpp"
#include "support.hpp"

namespace vtrace::responder {
namespace {

using test::external_incident;
using test::FakeClock;
using test::internal_incident;
using test::RecordingSender;

ActionConfig mail_to(std::vector<std::string> to, Duration window = 30 * kMinute) {
  ActionConfig a;
  a.type = ActionType::kMail;
  a.to = std::move(to);
  a.template_name = "incident";
  a.digest_window = window;
  return a;
}

std::shared_ptr<ResponderConfig> base_config() {
  auto c = std::make_shared<ResponderConfig>();
  c->smtp.from = "vtrace@example.ac.jp";
  c->smtp.retry_initial = seconds(30);
  c->smtp.retry_max = seconds(3600);
  c->smtp.max_attempts = 5;
  c->mail.per_recipient_per_hour = 1000;
  c->own_domains = {"example.ac.jp"};
  c->abuse_contacts = {{{*Cidr::parse("198.51.100.0/24")}, "abuse@example.net"}};
  Policy internal;
  internal.name = "internal-origin";
  internal.match.origin = OriginClass::kInternal;
  internal.actions = {mail_to({"admins@example.ac.jp"})};
  Policy external;
  external.name = "external-origin";
  external.match.origin = OriginClass::kExternal;
  external.actions = {mail_to({"postmaster@example.ac.jp"}, 60 * kMinute)};
  c->policies = {internal, external};
  return c;
}

struct Fixture {
  explicit Fixture(std::shared_ptr<ResponderConfig> c = base_config(),
                   const std::string& db = ":memory:")
      : config(c), engine(c, clock, db) {}
  // Delivers everything due now; returns the number of mails the server accepted.
  std::size_t deliver() {
    const std::size_t before = sender.sent.size();
    engine.deliver_due(sender, 1000);
    return sender.sent.size() - before;
  }
  std::shared_ptr<ResponderConfig> config;
  FakeClock clock;
  Engine engine;
  RecordingSender sender;
};

std::string subject_of(const std::string& message) {
  const auto p = message.find("\r\nSubject: ");
  return message.substr(p + 11, message.find("\r\n", p + 11) - p - 11);
}

}  // namespace

TEST_CASE("the first incident from an origin is mailed at once with its evidence",
          "[responder][engine]") {
  Fixture f;
  auto r = f.engine.ingest(internal_incident("i1", f.clock.now()), "127.0.0.1");
  CHECK(r.kind == IngestKind::kCreated);
  CHECK(r.actions_run == 1);
  REQUIRE(f.deliver() == 1);
  const auto& mail = f.sender.sent[0];
  CHECK(mail.from == "vtrace@example.ac.jp");
  CHECK(mail.to == std::vector<std::string>{"admins@example.ac.jp"});
  CHECK(subject_of(mail.message) ==
        "[vtrace] Worm.Mydoom.M sent by 10.1.23.45 (pc-45) (internal, zone tsushima)");
  CHECK(mail.message.find("X-Vtrace-Incident: i1\r\n") != std::string::npos);
  CHECK(mail.message.find("WARNING: THE ORIGIN IS INSIDE OUR NETWORK") != std::string::npos);
}

TEST_CASE("internal and external origins go to different recipients", "[responder][engine]") {
  Fixture f;
  f.engine.ingest(internal_incident("i1", f.clock.now()), "peer");
  f.engine.ingest(external_incident("e1", f.clock.now()), "peer");
  REQUIRE(f.deliver() == 2);
  CHECK(f.sender.sent[0].to == std::vector<std::string>{"admins@example.ac.jp"});
  CHECK(f.sender.sent[1].to == std::vector<std::string>{"postmaster@example.ac.jp"});
  CHECK(f.sender.sent[1].message.find("WARNING") == std::string::npos);
}

TEST_CASE("a resend of the same incident changes nothing and mails nobody",
          "[responder][engine][idempotent]") {
  Fixture f;
  const Incident in = internal_incident("i1", f.clock.now());
  CHECK(f.engine.ingest(in, "p").kind == IngestKind::kCreated);
  for (int i = 0; i < 5; ++i) {
    auto r = f.engine.ingest(in, "p");
    CHECK(r.kind == IngestKind::kUnchanged);
    CHECK(r.actions_run == 0);
  }
  CHECK(f.deliver() == 1);
  CHECK(f.engine.counters().incidents_unchanged == 5);
}

TEST_CASE("a higher revision updates the incident but never re-runs its actions",
          "[responder][engine][idempotent]") {
  Fixture f;
  Incident in = internal_incident("i1", f.clock.now());
  f.engine.ingest(in, "p");
  in.revision = 2;
  in.note = "a later trace added a hop";
  auto r = f.engine.ingest(in, "p");
  CHECK(r.kind == IngestKind::kUpdated);
  CHECK(r.revision == 2);
  CHECK(r.actions_run == 0);
  // A lower revision arriving late is ignored.
  in.revision = 1;
  CHECK(f.engine.ingest(in, "p").kind == IngestKind::kUnchanged);
  CHECK(f.deliver() == 1);
  auto doc = f.engine.incident_json("i1");
  REQUIRE(doc);
  CHECK(doc->find("\"revision\":2") != std::string::npos);
  CHECK(doc->find("a later trace added a hop") != std::string::npos);
}

TEST_CASE("for one id and revision the exact trace is kept, whichever collector posts first",
          "[responder][engine][idempotent][ha]") {
  Fixture f;
  Incident fuzzy = internal_incident("i1", f.clock.now());
  fuzzy.confidence = Confidence::kFuzzy;  // a collector that was behind matched by envelope
  Incident exact = internal_incident("i1", f.clock.now());
  CHECK(f.engine.ingest(fuzzy, "collector-b").actions_run == 0);  // policies want exact
  auto r = f.engine.ingest(exact, "collector-a");
  CHECK(r.kind == IngestKind::kUpdated);
  CHECK(r.actions_run == 1);
  // The fuzzy one again, or the exact one again: nothing changes, nothing runs twice.
  CHECK(f.engine.ingest(fuzzy, "collector-b").kind == IngestKind::kUnchanged);
  CHECK(f.engine.ingest(exact, "collector-a").kind == IngestKind::kUnchanged);
  CHECK(f.deliver() == 1);
  auto doc = f.engine.incident_json("i1");
  REQUIRE(doc);
  CHECK(doc->find("\"confidence\":\"exact\"") != std::string::npos);
}

TEST_CASE("a trace never replaces a better one of the same revision", "[responder][engine][ha]") {
  const Incident base = internal_incident("i1", 0);
  auto with = [&](Confidence c) {
    Incident in = base;
    in.confidence = c;
    return in;
  };
  using C = Confidence;
  CHECK(is_better_trace(with(C::kExact), with(C::kFuzzy)));
  CHECK(is_better_trace(with(C::kExact), with(C::kUnresolved)));
  CHECK(is_better_trace(with(C::kExact), with(C::kAmbiguous)));
  CHECK(is_better_trace(with(C::kFuzzy), with(C::kUnresolved)));
  CHECK(is_better_trace(with(C::kAmbiguous), with(C::kUnresolved)));
  CHECK_FALSE(is_better_trace(with(C::kFuzzy), with(C::kExact)));
  CHECK_FALSE(is_better_trace(with(C::kUnresolved), with(C::kFuzzy)));
  CHECK_FALSE(is_better_trace(with(C::kFuzzy), with(C::kAmbiguous)));
  CHECK_FALSE(is_better_trace(with(C::kExact), with(C::kExact)));
}

TEST_CASE("an update that newly matches a policy runs only that policy's actions",
          "[responder][engine][idempotent]") {
  Fixture f;
  Incident in = internal_incident("i1", f.clock.now());
  in.confidence = Confidence::kFuzzy;  // the default match is exact only
  CHECK(f.engine.ingest(in, "p").actions_run == 0);
  in.revision = 2;
  in.confidence = Confidence::kExact;
  CHECK(f.engine.ingest(in, "p").actions_run == 1);
  in.revision = 3;
  CHECK(f.engine.ingest(in, "p").actions_run == 0);
  CHECK(f.deliver() == 1);
}

TEST_CASE("further incidents within the window become one digest mail",
          "[responder][engine][digest]") {
  Fixture f;
  const TimePoint t0 = f.clock.now();
  f.engine.ingest(internal_incident("i0", t0), "p");
  for (int i = 1; i <= 9; ++i) {
    f.clock.advance(seconds(60));
    auto in = internal_incident("i" + std::to_string(i), f.clock.now(), "10.1.23.45",
                                i % 3 == 0 ? "Worm.Mydoom.O" : "Worm.Mydoom.M");
    f.engine.ingest(in, "p");
    CHECK(f.engine.flush_digests() == 0);
  }
  CHECK(f.deliver() == 1);
  f.clock.set(t0 + 30 * kMinute);
  CHECK(f.engine.flush_digests() == 1);
  REQUIRE(f.deliver() == 1);
  const std::string& digest = f.sender.sent[1].message;
  INFO(digest);
  CHECK(subject_of(digest) ==
        "[vtrace] digest: 9 more detections from 10.1.23.45 (pc-45) (internal, zone tsushima)");
  CHECK(digest.find("  6 x Worm.Mydoom.M\r\n  3 x Worm.Mydoom.O\r\n") != std::string::npos);
  CHECK(digest.find("between 2026-11-28T05:01:00.000000Z and 2026-11-28T05:09:00.000000Z") !=
        std::string::npos);
  // The next window stays quiet: it closes, and the next detection is mailed at once again.
  f.clock.advance(30 * kMinute);
  CHECK(f.engine.flush_digests() == 0);
  f.clock.advance(kMinute);
  f.engine.ingest(internal_incident("later", f.clock.now()), "p");
  CHECK(f.deliver() == 1);
  CHECK(subject_of(f.sender.sent[2].message).rfind("[vtrace] Worm.Mydoom.M sent by", 0) == 0);
}

TEST_CASE("a worm sending 400 mails in 48 minutes yields at most 3 mails",
          "[responder][engine][digest]") {
  // The 2004 case: one infected PC, 398 worm mails in 48 minutes.
  Fixture f;
  const TimePoint t0 = f.clock.now();
  for (int i = 0; i < 400; ++i) {
    f.clock.set(t0 + i * (48 * kMinute) / 400);
    f.engine.ingest(internal_incident("w" + std::to_string(i), f.clock.now()), "p");
    f.engine.flush_digests();
    f.deliver();
  }
  // Let every window run out.
  for (int i = 0; i < 6; ++i) {
    f.clock.advance(30 * kMinute);
    f.engine.flush_digests();
    f.deliver();
  }
  INFO(f.sender.sent.size());
  CHECK(f.sender.sent.size() >= 2);
  CHECK(f.sender.sent.size() <= 3);
  // Together they account for every detection: 1 first mail + the digests' counts.
  std::int64_t counted = 1;
  for (std::size_t i = 1; i < f.sender.sent.size(); ++i) {
    const std::string s = subject_of(f.sender.sent[i].message);
    counted += std::stoll(s.substr(std::string("[vtrace] digest: ").size()));
  }
  CHECK(counted == 400);
}

TEST_CASE("different origins are aggregated separately", "[responder][engine][digest]") {
  Fixture f;
  f.engine.ingest(internal_incident("a1", f.clock.now(), "10.1.1.1"), "p");
  f.engine.ingest(internal_incident("b1", f.clock.now(), "10.2.2.2"), "p");
  f.engine.ingest(internal_incident("a2", f.clock.now(), "10.1.1.1"), "p");
  CHECK(f.deliver() == 2);
}

TEST_CASE("a threshold needs N detections from one origin within T",
          "[responder][engine][threshold]") {
  auto c = base_config();
  c->policies[0].threshold = {3, 10 * kMinute};
  Fixture f(c);
  const TimePoint t0 = f.clock.now();
  CHECK(f.engine.ingest(internal_incident("t1", t0), "p").actions_run == 0);
  CHECK(f.engine.ingest(internal_incident("t2", t0 + 4 * kMinute), "p").actions_run == 0);
  // Another origin does not count towards this one.
  CHECK(f.engine.ingest(internal_incident("x1", t0 + 5 * kMinute, "10.9.9.9"), "p").actions_run ==
        0);
  auto doc = f.engine.incident_json("t2");
  REQUIRE(doc);
  CHECK(doc->find("below_threshold") != std::string::npos);
  CHECK(doc->find("2 of 3 detections from this origin within 10m") != std::string::npos);
  // 11 minutes after t1: t1 has left the window, so still only 2.
  CHECK(f.engine.ingest(internal_incident("t3", t0 + 11 * kMinute), "p").actions_run == 0);
  CHECK(f.engine.ingest(internal_incident("t4", t0 + 12 * kMinute), "p").actions_run == 1);
  CHECK(f.deliver() == 1);
  // A resend of an incident counted before does not count twice.
  CHECK(f.engine.ingest(internal_incident("t4", t0 + 12 * kMinute), "p").kind ==
        IngestKind::kUnchanged);
}

TEST_CASE("dry-run actions are rendered into the outbox but never sent",
          "[responder][engine][dry-run]") {
  auto c = base_config();
  c->policies[0].actions[0].dry_run = true;
  Fixture f(c);
  auto r = f.engine.ingest(internal_incident("d1", f.clock.now()), "p");
  CHECK(r.actions_run == 1);
  CHECK(f.deliver() == 0);
  CHECK(f.engine.gauges()["outbox_dry_run"] == 1);
  auto doc = f.engine.incident_json("d1");
  CHECK(doc->find("\"status\":\"dry_run\"") != std::string::npos);
}

TEST_CASE("abuse mail goes to the external network's contact and waits for release",
          "[responder][engine][abuse]") {
  auto c = base_config();
  ActionConfig abuse;
  abuse.type = ActionType::kMailAbuse;
  abuse.template_name = "abuse";
  abuse.hold = true;
  Policy p;
  p.name = "abuse";
  p.match.origin = OriginClass::kAny;
  p.actions = {abuse};
  c->policies = {p};
  Fixture f(c);
  f.engine.ingest(internal_incident("i1", f.clock.now()), "p");
  f.engine.ingest(external_incident("e1", f.clock.now(), "198.51.100.7"), "p");
  f.engine.ingest(external_incident("e2", f.clock.now(), "192.0.2.99"), "p");
  CHECK(f.deliver() == 0);
  CHECK(f.engine.incident_json("i1")->find("the origin is internal") != std::string::npos);
  CHECK(f.engine.incident_json("e2")->find("no abuse contact configured for 192.0.2.99") !=
        std::string::npos);
  const std::string e1 = *f.engine.incident_json("e1");
  INFO(e1);
  CHECK(e1.find("\"status\":\"held\"") != std::string::npos);
  CHECK(f.engine.gauges()["outbox_held"] == 1);
  CHECK_FALSE(f.engine.release_mail(999, "test"));
  REQUIRE(f.engine.release_mail(1, "test"));
  REQUIRE(f.deliver() == 1);
  CHECK(f.sender.sent[0].to == std::vector<std::string>{"abuse@example.net"});
  CHECK(subject_of(f.sender.sent[0].message) == "Abuse report: virus mail from 198.51.100.7");
}

TEST_CASE("the sender is notified only when its address is in our own domains",
          "[responder][engine][sender]") {
  auto c = base_config();
  ActionConfig notify;
  notify.type = ActionType::kMailSender;
  notify.template_name = "sender";
  Policy p;
  p.name = "notify-sender";
  p.actions = {notify};
  c->policies = {p};
  Fixture f(c);
  Incident forged = internal_incident("f1", f.clock.now());
  forged.envelope_from = "ceo@example.com";
  f.engine.ingest(forged, "p");
  Incident ours = internal_incident("o1", f.clock.now(), "10.3.3.3");
  ours.envelope_from = "Student@Dept.Example.AC.JP";
  f.engine.ingest(ours, "p");
  Incident hostile = internal_incident("h1", f.clock.now(), "10.4.4.4");
  hostile.envelope_from = "x@example.ac.jp\r\nBcc: all@example.ac.jp";
  f.engine.ingest(hostile, "p");
  REQUIRE(f.deliver() == 1);
  CHECK(f.sender.sent[0].to == std::vector<std::string>{"student@dept.example.ac.jp"});
  CHECK(f.engine.incident_json("f1")->find("forged outside addresses are never mailed") !=
        std::string::npos);
  CHECK(f.engine.incident_json("h1")->find("not a plain mail address") != std::string::npos);
}

TEST_CASE("mails beyond the per-recipient hourly limit are held", "[responder][engine][limit]") {
  auto c = base_config();
  c->mail.per_recipient_per_hour = 2;
  Fixture f(c);
  for (int i = 0; i < 4; ++i) {
    f.engine.ingest(internal_incident("r" + std::to_string(i), f.clock.now(),
                                      "10.0.0." + std::to_string(i + 1)),
                    "p");
  }
  CHECK(f.deliver() == 2);
  CHECK(f.engine.gauges()["outbox_held"] == 2);
  CHECK(f.engine.incident_json("r3")->find("rate_limited") != std::string::npos);
  // An hour later the budget is back.
  f.clock.advance(61 * kMinute);
  f.engine.ingest(internal_incident("r9", f.clock.now(), "10.0.0.9"), "p");
  CHECK(f.deliver() == 1);
}

TEST_CASE("temporary failures are retried with backoff and a 5xx fails with the server's reply",
          "[responder][engine][outbox]") {
  Fixture f;
  f.sender.script = {{SendStatus::kRetry, "Failed to connect to 127.0.0.1 port 2525"},
                     {SendStatus::kRetry, "451 4.3.0 try again later"}};
  f.engine.ingest(internal_incident("i1", f.clock.now()), "p");
  CHECK(f.deliver() == 0);  // refused once: next attempt in 30s
  CHECK(f.deliver() == 0);  // not due yet
  CHECK(f.sender.refused == 1);
  f.clock.advance(seconds(30));
  CHECK(f.deliver() == 0);  // refused again: next attempt in 60s
  CHECK(f.sender.refused == 2);
  f.clock.advance(seconds(59));
  CHECK(f.deliver() == 0);
  CHECK(f.sender.refused == 2);
  f.clock.advance(seconds(1));
  CHECK(f.deliver() == 1);
  CHECK(f.engine.next_wakeup().has_value());  // the digest window is still open

  f.sender.script = {{SendStatus::kFail, "MAIL failed: 550 (server: 550 5.1.1 no such user)"}};
  f.engine.ingest(external_incident("e1", f.clock.now()), "p");
  CHECK(f.deliver() == 0);
  const std::string doc = *f.engine.incident_json("e1");
  CHECK(doc.find("\"status\":\"failed\"") != std::string::npos);
  CHECK(doc.find("550 5.1.1 no such user") != std::string::npos);
  CHECK(f.engine.counters().mails_failed == 1);
}

TEST_CASE("a mail that keeps failing temporarily is given up after max_attempts",
          "[responder][engine][outbox]") {
  auto c = base_config();
  c->smtp.max_attempts = 3;
  Fixture f(c);
  for (int i = 0; i < 3; ++i) f.sender.script.push_back({SendStatus::kRetry, "421 busy"});
  f.engine.ingest(internal_incident("i1", f.clock.now()), "p");
  for (int i = 0; i < 5; ++i) {
    f.deliver();
    f.clock.advance(seconds(3600));
  }
  CHECK(f.sender.refused == 3);
  CHECK(f.engine.incident_json("i1")->find("gave up after 3 attempts: 421 busy") !=
        std::string::npos);
}

TEST_CASE("state survives a restart: no lost and no duplicate mails",
          "[responder][engine][restart]") {
  const auto path =
      (std::filesystem::temp_directory_path() / "vtrace-engine-restart-test.db").string();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  auto c = base_config();
  FakeClock clock;
  RecordingSender sender;
  {
    Engine engine(c, clock, path);
    engine.ingest(internal_incident("s1", clock.now()), "p");
    engine.ingest(internal_incident("s2", clock.now()), "p");  // digested
    engine.ingest(external_incident("e1", clock.now()), "p");  // queued, not yet delivered
    engine.deliver_due(sender, 1);                             // only s1's mail goes out
  }
  CHECK(sender.sent.size() == 1);
  {
    Engine engine(c, clock, path);
    // The resend after restart changes nothing.
    CHECK(engine.ingest(internal_incident("s1", clock.now()), "p").kind == IngestKind::kUnchanged);
    engine.deliver_due(sender, 100);
    CHECK(sender.sent.size() == 2);  // e1's mail, once
    clock.advance(seconds(1800));
    CHECK(engine.flush_digests() == 1);  // the open window survived: s2's digest
    engine.deliver_due(sender, 100);
    CHECK(sender.sent.size() == 3);
    CHECK(engine.list_incidents_json("", 0, 10).find("\"id\":\"s2\"") != std::string::npos);
  }
}

// The state file as the engine wrote it before its parts (incidents and policies, mail outbox
// and digests, containment) each kept their own schema: every table and column of that version,
// with the containment columns its migrations had added. An operator's existing file must open
// and go on working after an upgrade.
constexpr const char* kStateSchemaBeforeSplit = R"(
CREATE TABLE incidents(id TEXT PRIMARY KEY, revision INTEGER NOT NULL, json TEXT NOT NULL,
  detected_at INTEGER NOT NULL, origin_ip TEXT NOT NULL, received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, peer TEXT NOT NULL);
CREATE INDEX incidents_by_origin ON incidents(origin_ip, detected_at);
CREATE INDEX incidents_by_detected ON incidents(detected_at);
CREATE TABLE policy_hits(policy TEXT NOT NULL, origin_ip TEXT NOT NULL, incident_id TEXT NOT NULL,
  detected_at INTEGER NOT NULL, PRIMARY KEY(policy, incident_id));
CREATE INDEX policy_hits_by_origin ON policy_hits(policy, origin_ip, detected_at);
CREATE TABLE actions(incident_id TEXT NOT NULL, policy TEXT NOT NULL,
  action_index INTEGER NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL, detail TEXT NOT NULL,
  mail_id INTEGER, at INTEGER NOT NULL, PRIMARY KEY(incident_id, policy, action_index));
CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
  policy TEXT NOT NULL, incident_id TEXT NOT NULL, recipients TEXT NOT NULL,
  subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, sent_at INTEGER);
CREATE INDEX outbox_due ON outbox(status, next_attempt);
CREATE TABLE recipient_sends(recipient TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX recipient_sends_by_recipient ON recipient_sends(recipient, at);
CREATE TABLE windows(key TEXT PRIMARY KEY, policy TEXT NOT NULL, action_index INTEGER NOT NULL,
  kind TEXT NOT NULL, origin_ip TEXT NOT NULL, origin_name TEXT NOT NULL, zone TEXT NOT NULL,
  internal INTEGER NOT NULL, recipients TEXT NOT NULL, digest_template TEXT NOT NULL,
  digest_window INTEGER NOT NULL, dry_run INTEGER NOT NULL, hold INTEGER NOT NULL,
  window_start INTEGER NOT NULL, window_end INTEGER NOT NULL, count INTEGER NOT NULL,
  first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, viruses TEXT NOT NULL,
  incidents TEXT NOT NULL);
CREATE INDEX windows_by_end ON windows(window_end);
CREATE TABLE containments(id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL,
  policy TEXT NOT NULL, origin_ip TEXT NOT NULL, status TEXT NOT NULL, dry_run INTEGER NOT NULL,
  duration INTEGER NOT NULL, device TEXT NOT NULL DEFAULT '', port TEXT NOT NULL DEFAULT '',
  if_index INTEGER NOT NULL DEFAULT 0, mac TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, acted_at INTEGER,
  downed_at INTEGER, expires_at INTEGER, released_at INTEGER,
  released_by TEXT NOT NULL DEFAULT '', release_reason TEXT NOT NULL DEFAULT '', follows INTEGER,
  retry_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
  action TEXT NOT NULL DEFAULT 'disable_port', vlan INTEGER NOT NULL DEFAULT 0,
  previous_vlan INTEGER NOT NULL DEFAULT 0);
CREATE INDEX containments_by_status ON containments(status, expires_at);
CREATE INDEX containments_by_origin ON containments(origin_ip, status);
CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
  actor TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL);
)";

TEST_CASE("a state file written before the engine was split opens and keeps working",
          "[responder][engine][restart]") {
  const auto path =
      (std::filesystem::temp_directory_path() / "vtrace-engine-old-schema-test.db").string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  FakeClock clock;
  const TimePoint t0 = clock.now();
  {
    Database old(path);
    old.exec(kStateSchemaBeforeSplit);
    old.prepare(
           "INSERT INTO incidents(id, revision, json, detected_at, origin_ip, received_at, "
           "updated_at, peer) VALUES('old1', 1, ?, ?, '10.1.23.45', ?, ?, 'collector')")
        .bind(1, to_json(internal_incident("old1", t0)))
        .bind(2, t0)
        .bind(3, t0)
        .bind(4, t0)
        .run();
    old.prepare("INSERT INTO policy_hits VALUES('internal-origin', '10.1.23.45', 'old1', ?)")
        .bind(1, t0)
        .run();
    old.prepare(
           "INSERT INTO actions VALUES('old1', 'internal-origin', 0, 'mail', 'held', "
           "'mail 1 to admins@example.ac.jp', 1, ?)")
        .bind(1, t0)
        .run();
    old.prepare(
           "INSERT INTO outbox(kind, policy, incident_id, recipients, subject, body, status, "
           "next_attempt, last_error, created_at) VALUES('mail', 'internal-origin', 'old1', "
           "'[\"admins@example.ac.jp\"]', '[vtrace] old mail', 'body', 'held', ?, "
           "'held for manual release', ?)")
        .bind(1, t0)
        .bind(2, t0)
        .run();
    old.prepare(
           "INSERT INTO windows VALUES(?, 'internal-origin', 0, 'mail', '10.1.23.45', 'pc-45', "
           "'tsushima', 1, '[\"admins@example.ac.jp\"]', 'digest', ?, 0, 0, ?, ?, 0, 0, 0, "
           "'{}', '[]')")
        .bind(1, std::string("internal-origin\x1f"
                             "0\x1f"
                             "10.1.23.45\x1f"
                             "admins@example.ac.jp"))
        .bind(2, 30 * kMinute)
        .bind(3, t0)
        .bind(4, t0 + 30 * kMinute)
        .run();
    old.exec(
        "INSERT INTO containments(incident_id, policy, origin_ip, status, dry_run, duration, "
        "created_at) VALUES('old1', 'contain', '10.1.23.45', 'released', 0, 1, 1);"
        "INSERT INTO audit(at, actor, event, detail) VALUES(1, 'daemon', 'start', 'old');");
  }
  auto c = base_config();
  RecordingSender sender;
  Engine engine(c, clock, path);
  // Its incident, its decisions and its mail are all still there.
  const std::string shown = *engine.incident_json("old1");
  CHECK(shown.find("\"received_from\":\"collector\"") != std::string::npos);
  CHECK(shown.find("mail 1 to admins@example.ac.jp") != std::string::npos);
  CHECK(shown.find("[vtrace] old mail") != std::string::npos);
  CHECK(engine.containments_json("", 10).find("\"incident\":\"old1\"") != std::string::npos);
  // The stored revision still turns a resend away, and the open window still digests.
  CHECK(engine.ingest(internal_incident("old1", t0), "p").kind == IngestKind::kUnchanged);
  CHECK(engine.ingest(internal_incident("new1", t0 + kMinute), "p").kind == IngestKind::kCreated);
  CHECK(engine.incident_json("new1")->find("\"status\":\"digested\"") != std::string::npos);
  CHECK(engine.gauges()["digest_windows_open"] == 1);
  CHECK(engine.gauges()["incidents_stored"] == 2);
  // The held mail is released and delivered; the window's digest follows.
  CHECK(engine.release_mail(1, "operator"));
  CHECK(engine.deliver_due(sender, 10) == 1);
  CHECK(subject_of(sender.sent.at(0).message) == "[vtrace] old mail");
  clock.advance(30 * kMinute);
  CHECK(engine.flush_digests() == 1);
  CHECK(engine.deliver_due(sender, 10) == 1);
  CHECK(sender.sent.at(1).message.find("new1") != std::string::npos);
  CHECK(engine.stats_json(0).find("\"internal\":2") != std::string::npos);
}

TEST_CASE("incidents are listed newest first and filtered by origin and time",
          "[responder][engine][query]") {
  Fixture f;
  const TimePoint t0 = f.clock.now();
  f.engine.ingest(internal_incident("q1", t0, "10.1.1.1"), "p");
  f.engine.ingest(internal_incident("q2", t0 + kMinute, "10.2.2.2"), "p");
  f.engine.ingest(external_incident("q3", t0 + 2 * kMinute), "p");
  const std::string all = f.engine.list_incidents_json("", 0, 10);
  CHECK(all.find("q3") < all.find("q2"));
  CHECK(all.find("q2") < all.find("q1"));
  const std::string one = f.engine.list_incidents_json("10.2.2.2", 0, 10);
  CHECK(one.find("q2") != std::string::npos);
  CHECK(one.find("q1") == std::string::npos);
  const std::string recent = f.engine.list_incidents_json("", t0 + kMinute, 10);
  CHECK(recent.find("q1") == std::string::npos);
  CHECK(recent.find("q3") != std::string::npos);
  CHECK_FALSE(f.engine.incident_json("missing"));
}

}  // namespace vtrace::responder
