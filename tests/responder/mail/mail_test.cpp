// Mail rendering and header safety: attacker text can never add or alter a header.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "responder/mail/mail_message.hpp"
#include "responder/mail/templates.hpp"
#include "tests/responder/support.hpp"

namespace vtrace::responder {
namespace {

using test::external_incident;
using test::internal_incident;

// The header block of a message, one logical header per entry (continuations unfolded).
std::vector<std::string> headers_of(const std::string& message) {
  const auto end = message.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  std::vector<std::string> out;
  std::istringstream in(message.substr(0, end + 2));
  std::string line;
  while (std::getline(in, line, '\n')) {
    REQUIRE(!line.empty());
    REQUIRE(line.back() == '\r');  // every line ends CRLF: no bare LF
    line.pop_back();
    REQUIRE(line.find('\r') == std::string::npos);
    if (line[0] == ' ' || line[0] == '\t') {
      REQUIRE(!out.empty());
      out.back() += line;
    } else {
      out.push_back(line);
    }
  }
  return out;
}

std::vector<std::string> header_names(const std::string& message) {
  std::vector<std::string> names;
  for (const auto& h : headers_of(message)) names.push_back(h.substr(0, h.find(':')));
  return names;
}

const std::vector<std::string> kExpectedHeaders = {"From",           "To",
                                                   "Subject",        "Date",
                                                   "Message-ID",     "MIME-Version",
                                                   "Content-Type",   "Content-Transfer-Encoding",
                                                   "Auto-Submitted", "X-Vtrace-Incident"};

OutgoingMail mail_with_subject(const std::string& subject) {
  OutgoingMail m;
  m.from = "vtrace@example.ac.jp";
  m.to = {"admins@example.ac.jp"};
  m.subject = subject;
  m.body = "body\n";
  m.message_id = "vtrace.1.1@localhost";
  m.incident_id = "0123456789abcdef";
  m.date = make_utc(2026, 11, 28, 5, 9, 56);
  return m;
}

}  // namespace

TEST_CASE("a subject with CR/LF cannot add a header", "[responder][mail][hostile]") {
  for (const char* hostile : {"Worm\r\nBcc: victim@example.org", "Worm\nBcc: victim@example.org",
                              "Worm\rBcc: victim@example.org", "Worm\r\n\r\nbody injection",
                              "Worm\x0b\x0c\x00\x1b[31m", "Worm\r\n Continued: folded",
                              "Worm\xc2\x85"
                              "Bcc: x@y"}) {
    const std::string message = build_message(mail_with_subject(hostile));
    INFO(message);
    CHECK(header_names(message) == kExpectedHeaders);
    CHECK(message.find("\r\nBcc:") == std::string::npos);
  }
}

TEST_CASE("a non-ASCII subject is RFC 2047 encoded and folded", "[responder][mail][hostile]") {
  const std::string message = build_message(
      mail_with_subject("ウイルス検出 \xe2\x80\xae Worm.Mydoom — 添付ファイル名が長すぎます"));
  INFO(message);
  const auto headers = headers_of(message);
  REQUIRE(header_names(message) == kExpectedHeaders);
  const std::string subject = headers[2];
  CHECK(subject.rfind("Subject: =?UTF-8?B?", 0) == 0);
  // Every encoded word fits in 75 characters, and nothing but ASCII is on the wire.
  for (unsigned char c : subject) CHECK(c < 0x80);
  std::size_t pos = 0;
  while ((pos = subject.find("=?UTF-8?B?", pos)) != std::string::npos) {
    const auto end = subject.find("?=", pos + 10);
    REQUIRE(end != std::string::npos);
    CHECK(end + 2 - pos <= 75);
    pos = end + 2;
  }
}

TEST_CASE("an ASCII subject that looks like an encoded word is encoded too",
          "[responder][mail][hostile]") {
  const std::string v = encode_header_value("=?UTF-8?B?QmNjOiBldmls?=");
  CHECK(v.rfind("=?UTF-8?B?", 0) == 0);
  CHECK(v != "=?UTF-8?B?QmNjOiBldmls?=");
  CHECK(encode_header_value("Worm.Mydoom.M found") == "Worm.Mydoom.M found");
}

TEST_CASE("header text drops controls, repairs UTF-8 and stays short", "[responder][mail]") {
  CHECK(header_text("a\r\nb\tc") == "a b c");
  CHECK(header_text("  lead and trail  ") == "lead and trail");
  CHECK(header_text("bad \xff\xfe utf8") == "bad ?? utf8");
  CHECK(header_text("overlong \xc0\xaf") == "overlong ??");
  CHECK(header_text(std::string(500, 'x')).size() == 200);
  // Cutting never splits a character.
  const std::string cut = header_text(std::string(100, '\xe3'), 10);
  CHECK(cut == "??????????");
  CHECK(header_text("ああああ", 7) == "ああ");
}

TEST_CASE("the body goes out with CRLF line ends and bounded lines", "[responder][mail]") {
  const std::string body = body_text("one\ntwo\r\nthree\rfour" + std::string(2500, 'x'));
  CHECK(body.rfind("one\r\ntwo\r\nthree\r\nfour", 0) == 0);
  std::size_t start = 0;
  while (start < body.size()) {
    const auto end = body.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start <= 998);
    start = end + 2;
  }
  CHECK(body_text("") == "\r\n");
}

TEST_CASE("dates are written as RFC 5322 requires", "[responder][mail]") {
  CHECK(rfc5322_date(make_utc(2026, 11, 28, 5, 9, 56)) == "Sat, 28 Nov 2026 05:09:56 +0000");
  CHECK(rfc5322_date(make_utc(2004, 2, 29, 23, 59, 59)) == "Sun, 29 Feb 2004 23:59:59 +0000");
  CHECK(rfc5322_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST_CASE("the incident template carries the evidence and warns about internal origins",
          "[responder][mail][template]") {
  std::string problem;
  auto t = find_template("", "incident", &problem);
  REQUIRE(t);
  Incident in = internal_incident("0123456789abcdef", make_utc(2026, 11, 28, 5, 0, 36));
  in.subject = "<b>Re: your & document</b>";
  RenderedMail m = render_incident(*t, in, "internal-origin");
  INFO(m.body);
  CHECK(m.subject == "[vtrace] Worm.Mydoom.M sent by 10.1.23.45 (pc-45) (internal, zone tsushima)");
  CHECK(m.body.rfind("WARNING: THE ORIGIN IS INSIDE OUR NETWORK (zone tsushima).", 0) == 0);
  CHECK(m.body.find("Nov 28 05:00:36 gw1 clamav-milter[812]: 4Q0123456789abcdef: Message "
                    "infected by Worm.Mydoom.M") != std::string::npos);
  CHECK(m.body.find("  1. gw1 queue 4Q0123456789abcdef received 2026-11-28T05:00:35.000000Z from "
                    "10.1.0.25 (relay1), linked by queue_id") != std::string::npos);
  CHECK(m.body.find("  2. relay1 queue R0123456789abcdef received 2026-11-28T05:00:34.000000Z "
                    "from 10.1.23.45 (pc-45), linked by next_hop_queue_id") != std::string::npos);
  CHECK(m.body.find("Origin:        10.1.23.45 (pc-45) - internal, zone tsushima") !=
        std::string::npos);
  // Text mails: no HTML escaping of attacker text, and it is not read as a template either.
  CHECK(m.body.find("Subject:       <b>Re: your & document</b>") != std::string::npos);
  in.subject = "{{#internal}}x{{/internal}} {{virus}}";
  m = render_incident(*t, in, "p");
  CHECK(m.body.find("Subject:       {{#internal}}x{{/internal}} {{virus}}") != std::string::npos);
}

TEST_CASE("the incident mail has a Note line only when the incident has a note",
          "[responder][mail][template]") {
  auto t = find_template("", "incident", nullptr);
  REQUIRE(t);
  Incident in = internal_incident("0123456789abcdef", make_utc(2026, 11, 28, 5, 0, 36));
  in.note.clear();
  RenderedMail m = render_incident(*t, in, "p");
  INFO(m.body);
  CHECK(m.body.find("Note:") == std::string::npos);
  CHECK(m.body.find("Confidence:    exact\nEnvelope from:") != std::string::npos);
  // No blank line where the optional Files line would be either.
  CHECK(m.body.find("Message-ID:    0123456789abcdef@pc-45\n\nAntivirus record:\n") !=
        std::string::npos);
  in.note = "one hop linked by envelope and time";
  in.files = {"document.pif"};
  m = render_incident(*t, in, "p");
  CHECK(m.body.find("Confidence:    exact\nNote:          one hop linked by envelope and time\n"
                    "Envelope from:") != std::string::npos);
  CHECK(m.body.find("Files:         document.pif\n\nAntivirus record:\n") != std::string::npos);

  auto sender = find_template("", "sender", nullptr);
  REQUIRE(sender);
  in.files.clear();
  m = render_incident(*sender, in, "p");
  CHECK(m.body.find("2026-11-28T05:00:36.000000Z.\n\nIf you did not") != std::string::npos);
}

TEST_CASE("external origins get no internal warning", "[responder][mail][template]") {
  auto t = find_template("", "incident", nullptr);
  REQUIRE(t);
  RenderedMail m = render_incident(*t, external_incident("e1", 0), "p");
  CHECK(m.body.find("WARNING") == std::string::npos);
  CHECK(m.subject.find("(external)") != std::string::npos);
}

TEST_CASE("the digest template reports count, viruses and first and last time",
          "[responder][mail][template]") {
  auto t = find_template("", "digest", nullptr);
  REQUIRE(t);
  DigestInfo g;
  g.origin_ip = "10.1.23.45";
  g.origin_name = "pc-45";
  g.zone = "tsushima";
  g.internal = true;
  g.count = 397;
  g.first_at = make_utc(2026, 11, 28, 5, 0, 7);
  g.last_at = make_utc(2026, 11, 28, 5, 48, 0);
  g.viruses = {{"Worm.Mydoom.M", 390}, {"Worm.Mydoom.O", 7}};
  g.incident_ids = {"aaaa", "bbbb"};
  RenderedMail m = render_digest(*t, g, "internal-origin");
  INFO(m.body);
  CHECK(m.subject ==
        "[vtrace] digest: 397 more detections from 10.1.23.45 (pc-45) (internal, "
        "zone tsushima)");
  CHECK(m.body.find("397 further detections from 10.1.23.45 (pc-45) (internal, zone tsushima) "
                    "between 2026-11-28T05:00:07.000000Z and 2026-11-28T05:48:00.000000Z") !=
        std::string::npos);
  CHECK(m.body.find("  390 x Worm.Mydoom.M\n  7 x Worm.Mydoom.O\n") != std::string::npos);
  CHECK(m.body.find("WARNING: THE ORIGIN IS INSIDE OUR NETWORK") != std::string::npos);
}

TEST_CASE("a digest of direct SMTP bursts says what the firewall saw, and no virus",
          "[responder][mail][template][direct-smtp]") {
  auto t = find_template("", "digest", nullptr);
  REQUIRE(t);
  DigestInfo g;
  g.origin_ip = "10.1.23.45";
  g.origin_name = "pc-45";
  g.zone = "tsushima";
  g.internal = true;
  g.count = 2;
  g.viruses = {{std::string(kDirectSmtpDigestKey), 2}};
  RenderedMail m = render_digest(*t, g, "direct-smtp");
  INFO(m.body);
  CHECK(m.body.find("The host 10.1.23.45 (pc-45) is still sending mail to outside mail servers "
                    "itself.") != std::string::npos);
  CHECK(m.body.find("Direct SMTP to outside mail servers, as the firewall logged it: 2 further "
                    "bursts") != std::string::npos);
  CHECK(m.body.find("irus") == std::string::npos);
  // Both kinds in one window: both said.
  g.viruses = {{std::string(kDirectSmtpDigestKey), 1}, {"Worm.Mydoom.M", 3}};
  m = render_digest(*t, g, "p");
  CHECK(m.body.find("is still sending virus mail and sending mail to outside mail servers "
                    "itself.") != std::string::npos);
  CHECK(m.body.find("Viruses:\n  3 x Worm.Mydoom.M\n") != std::string::npos);
  CHECK(m.body.find("(direct SMTP)") == std::string::npos);
}

TEST_CASE("templates come from the templates directory before the built-ins",
          "[responder][mail][template]") {
  auto dir = std::filesystem::temp_directory_path() / "vtrace-templates-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "incident.subject.mustache") << "Site: {{virus}}\n";
    std::ofstream(dir / "incident.body.mustache") << "Origin {{origin_ip}}\n";
    std::ofstream(dir / "broken.subject.mustache") << "{{#open}}\n";
    std::ofstream(dir / "broken.body.mustache") << "x\n";
    std::ofstream(dir / "half.subject.mustache") << "x\n";
  }
  auto t = find_template(dir.string(), "incident", nullptr);
  REQUIRE(t);
  RenderedMail m = render_incident(*t, internal_incident("a", 0), "p");
  CHECK(m.subject == "Site: Worm.Mydoom.M");
  CHECK(m.body == "Origin 10.1.23.45\n");
  std::string problem;
  CHECK_FALSE(find_template(dir.string(), "broken", &problem));
  CHECK(problem.find("does not compile") != std::string::npos);
  CHECK_FALSE(find_template(dir.string(), "half", &problem));
  CHECK(problem.find("needs both") != std::string::npos);
  CHECK_FALSE(find_template("", "nope", &problem));
  CHECK(problem.find("no template named 'nope'") != std::string::npos);
}

}  // namespace vtrace::responder
