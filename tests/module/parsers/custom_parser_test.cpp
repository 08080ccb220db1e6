#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "module/parsers/log_line.hpp"
#include "module/parsers/parser_registry.hpp"
#include "module/settings.hpp"
#include "support/view_checks.hpp"

using namespace vtrace;

// The custom formats here are site formats a user might declare; the lines are constructed to
// match them (no public sample exists for a site-specific AV).

using vtrace::testing::check_record_views_inside;
using vtrace::testing::points_into;

namespace {

CustomFormatSettings format(std::string name, std::string program, std::string pattern,
                            std::string kind) {
  CustomFormatSettings f;
  f.name = std::move(name);
  f.program = std::move(program);
  f.pattern = std::move(pattern);
  f.kind = std::move(kind);
  return f;
}

LogLine line_of(std::string_view program, std::string_view message) {
  LogLine line;
  line.program = program;
  line.message = message;
  line.raw = message;
  return line;
}

const CustomFormatSettings kMyAv =
    format("myav", "myav|myavd",
           R"(^virus found: (?P<virus>\S+) in message (?P<queue_id>[0-9A-F]+) from )"
           R"((?P<sender><[^>]*>) to (?P<recipients>\S+)(?: action=(?P<action>\w+))?)",
           "detection");

}  // namespace

TEST_CASE("custom parser takes its name from the settings and full-matches the program",
          "[custom]") {
  const auto parser = make_custom_parser(kMyAv);
  CHECK(parser->name() == "myav");
  CHECK(parser->accepts_program("myav"));
  CHECK(parser->accepts_program("myavd"));
  CHECK_FALSE(parser->accepts_program("myav2"));  // full match, not a prefix
  CHECK_FALSE(parser->accepts_program("notmyav"));
  CHECK_FALSE(parser->accepts_program("postfix/smtpd"));

  const auto any = make_custom_parser(format("anyprog", "", "x", "attribute"));
  CHECK(any->accepts_program("postfix/smtpd"));
  CHECK(any->accepts_program(""));
}

TEST_CASE("custom detection format captures virus, queue id, sender and recipients", "[custom]") {
  const auto parser = make_custom_parser(kMyAv);
  constexpr std::string_view kMessage =
      "virus found: Eicar-Test-Signature in message 4FC7B22DF6 from <alice@example.org> to "
      "<bob@example.net>,<carol@example.net> action=quarantined";
  ParsedRecord r;
  REQUIRE(parser->parse(line_of("myav", kMessage), r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDetection);
  CHECK(r.virus == "Eicar-Test-Signature");
  CHECK(r.queue_id == "4FC7B22DF6");
  CHECK(r.sender == "alice@example.org");
  CHECK(r.has_sender);
  REQUIRE(r.recipients.size() == 2);
  CHECK(r.recipients[0] == "bob@example.net");
  CHECK(r.recipients[1] == "carol@example.net");
  CHECK(r.action == "quarantined");
  CHECK(r.client_ip.empty());
  CHECK(points_into(r.virus, kMessage));
  CHECK(points_into(r.sender, kMessage));
  CHECK(points_into(r.recipients[1], kMessage));

  // The optional action group did not take part: empty. A null sender is stated, but empty.
  r.clear();
  REQUIRE(parser->parse(line_of("myav",
                                "virus found: Win.Test.EICAR_HDB-1 in message ABC123 "
                                "from <> to <bob@example.net>"),
                        r) == ParseStatus::kRecord);
  CHECK(r.virus == "Win.Test.EICAR_HDB-1");
  CHECK(r.has_sender);
  CHECK(r.sender.empty());
  CHECK(r.action.empty());
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "bob@example.net");
}

TEST_CASE("custom format lines that do not match are not the format's", "[custom]") {
  const auto parser = make_custom_parser(kMyAv);
  ParsedRecord r;
  CHECK(parser->parse(line_of("myav", "scanner started, 8123456 signatures loaded"), r) ==
        ParseStatus::kNotMine);
  CHECK(parser->parse(line_of("myav", "clean message 4FC7B22DF6 from <a@example.org>"), r) ==
        ParseStatus::kNotMine);
  CHECK(r.virus.empty());
  CHECK(r.recipients.empty());
}

TEST_CASE("custom detection without a virus name is malformed", "[custom]") {
  const auto parser = make_custom_parser(format(
      "av2", "av2", R"(^infected(?: by (?P<virus>\S+))? queue=(?P<queue_id>\w+))", "detection"));
  ParsedRecord r;
  REQUIRE(parser->parse(line_of("av2", "infected by Eicar queue=4FC7B22DF6"), r) ==
          ParseStatus::kRecord);
  CHECK(r.virus == "Eicar");
  CHECK(r.queue_id == "4FC7B22DF6");
  r.clear();
  CHECK(parser->parse(line_of("av2", "infected queue=4FC7B22DF6"), r) == ParseStatus::kMalformed);
  CHECK(r.queue_id.empty());
}

TEST_CASE("custom receive format maps client, size, message id and a single recipient",
          "[custom]") {
  const auto parser = make_custom_parser(format(
      "gw", "gateway",
      R"re((?P<queue_id>\w+): accepted from (?P<client_name>[^ \[]*)\[(?P<client_ip>[^\]]+)\] )re"
      R"re(size=(?P<size>\d+) msgid=(?P<message_id><[^>]*>) rcpt=(?P<recipient>\S+) )re"
      R"re(subject="(?P<subject>[^"]*)" file=(?P<file>\S+))re",
      "receive"));
  constexpr std::string_view kMessage =
      "Q7F3A: accepted from mx.example.org[2001:db8::25] size=40960 "
      "msgid=<20240907.1@example.org> rcpt=<bob@example.net> subject=\"Invoice\" "
      "file=invoice.zip";
  ParsedRecord r;
  REQUIRE(parser->parse(line_of("gateway", kMessage), r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kReceive);
  CHECK(r.queue_id == "Q7F3A");
  CHECK(r.client_name == "mx.example.org");
  CHECK(r.client_ip == "2001:db8::25");
  CHECK(r.size == 40960);
  CHECK(r.message_id == "20240907.1@example.org");
  REQUIRE(r.recipients.size() == 1);
  CHECK(r.recipients[0] == "bob@example.net");
  CHECK(r.subject == "Invoice");
  CHECK(r.file == "invoice.zip");
  CHECK_FALSE(r.has_sender);
  CHECK(points_into(r.client_ip, kMessage));
}

TEST_CASE("custom delivery format with a next hop id is a sent delivery", "[custom]") {
  const auto parser = make_custom_parser(format(
      "relay", "", R"((?P<queue_id>\w+) relayed to (?P<recipient>\S+) next=(?P<next_queue_id>\w+))",
      "delivery"));
  ParsedRecord r;
  REQUIRE(parser->parse(line_of("anything", "Q7F3A relayed to <bob@example.net> next=B51DBE6BE7"),
                        r) == ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kDelivery);
  CHECK(r.status == DeliveryStatus::kSent);
  CHECK(r.queue_id == "Q7F3A");
  CHECK(r.next_queue_id == "B51DBE6BE7");
  CHECK(r.recipients[0] == "bob@example.net");
}

TEST_CASE("custom attribute format ignores unknown group names", "[custom]") {
  const auto parser = make_custom_parser(
      format("attr", "", R"((?P<queue_id>\w+): (?P<other>\w+) message-id=(?P<message_id>\S+))",
             "attribute"));
  ParsedRecord r;
  REQUIRE(parser->parse(line_of("x", "Q7F3A: note message-id=<m1@example.org>"), r) ==
          ParseStatus::kRecord);
  CHECK(r.kind == RecordKind::kAttribute);
  CHECK(r.queue_id == "Q7F3A");
  CHECK(r.message_id == "m1@example.org");
  CHECK(r.virus.empty());
}

TEST_CASE("custom format with a pattern that does not compile never matches", "[custom]") {
  const auto parser = make_custom_parser(format("broken", "", "(?P<virus>unclosed", "detection"));
  ParsedRecord r;
  CHECK(parser->parse(line_of("x", "(?P<virus>unclosed"), r) == ParseStatus::kNotMine);
  CHECK(parser->parse(line_of("x", "unclosed"), r) == ParseStatus::kNotMine);
  const auto bad_program = make_custom_parser(format("badprog", "(", "x", "attribute"));
  CHECK_FALSE(bad_program->accepts_program("("));
  CHECK_FALSE(bad_program->accepts_program("x"));
}
