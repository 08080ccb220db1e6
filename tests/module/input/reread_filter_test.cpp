// Lines a file input reads again: known by file, offset and text; bounded.
#include "module/input/reread_filter.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "module/input/rsyslog_json_decoder.hpp"

TEST_CASE("a file line is a re-read only at the same file, offset and text", "[reread]") {
  vtrace::RereadFilter filter;
  filter.remember("/var/log/isvw/virus.log", "0", "Date: 11/28/26 05:01:01\nVirus: X");
  CHECK(filter.seen("/var/log/isvw/virus.log", "0", "Date: 11/28/26 05:01:01\nVirus: X"));
  CHECK_FALSE(filter.seen("/var/log/isvw/virus.log", "221", "Date: 11/28/26 05:01:01\nVirus: X"));
  CHECK_FALSE(filter.seen("/var/log/isvw/virus.log.1", "0", "Date: 11/28/26 05:01:01\nVirus: X"));
  CHECK_FALSE(filter.seen("/var/log/isvw/virus.log", "0", "Date: 11/28/26 05:01:02\nVirus: X"));
  // Where one part ends must matter: "/a" + "10" is not "/a1" + "0".
  filter.remember("/a", "10", "x");
  CHECK_FALSE(filter.seen("/a1", "0", "x"));
}

TEST_CASE("lines without a file position are never taken for re-reads", "[reread]") {
  vtrace::RereadFilter filter;
  filter.remember("", "", "A39D5E08539: client=relay1[10.1.0.25]");
  CHECK(filter.size() == 0);
  CHECK_FALSE(filter.seen("", "", "A39D5E08539: client=relay1[10.1.0.25]"));
}

TEST_CASE("the re-read filter forgets its oldest lines beyond its capacity, counting them",
          "[reread]") {
  vtrace::RereadFilter filter(2);
  filter.remember("/f", "0", "a");
  filter.remember("/f", "2", "b");
  filter.remember("/f", "4", "c");
  CHECK(filter.size() == 2);
  CHECK(filter.evicted() == 1);
  CHECK_FALSE(filter.seen("/f", "0", "a"));
  CHECK(filter.seen("/f", "4", "c"));
}

TEST_CASE("the rsyslog decoder reads imfile's file name and offset when the template has them",
          "[reread]") {
  vtrace::RsyslogRecord record;
  REQUIRE(vtrace::parse_rsyslog_json(
      R"({"timereported":"2026-11-28T05:01:03+09:00","hostname":"gw2","fromhost-ip":"",)"
      R"("app-name":"isvw","procid":"-","msg":"Date: x","inputname":"imfile",)"
      R"("filename":"\/var\/log\/isvw\/virus.log","fileoffset":"221"})",
      record));
  CHECK(record.filename == "/var/log/isvw/virus.log");
  CHECK(record.fileoffset == "221");
  REQUIRE(vtrace::parse_rsyslog_json(
      R"({"timereported":"2026-11-28T05:01:03+09:00","msg":"x","filename":"","fileoffset":""})",
      record));
  CHECK(record.fileoffset.empty());
}
