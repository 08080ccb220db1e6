// Policy matching, abuse-contact lookup and own-domain checks.
#include "responder/policy/policy.hpp"

#include <catch2/catch.hpp>

#include "tests/responder/support.hpp"

namespace vtrace::responder {

using test::external_incident;
using test::internal_incident;

TEST_CASE("virus globs match case-insensitively with * and ?", "[responder][policy]") {
  CHECK(glob_match("Worm.*", "Worm.Mydoom.M"));
  CHECK(glob_match("worm.*", "Worm.Mydoom.M"));
  CHECK(glob_match("*Mydoom*", "Worm.Mydoom.M"));
  CHECK(glob_match("W?rm.*.M", "Worm.Mydoom.M"));
  CHECK(glob_match("*", ""));
  CHECK_FALSE(glob_match("Worm.*", "Win.Trojan"));
  CHECK_FALSE(glob_match("W?rm", "Worm.X"));
  // Pathological patterns stay fast (no exponential backtracking).
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
}

TEST_CASE("a policy matches on origin class, zone, virus, confidence and detector",
          "[responder][policy]") {
  const Incident in = internal_incident("a1", make_utc(2026, 11, 28, 5, 0, 0));
  const Incident out = external_incident("b1", make_utc(2026, 11, 28, 5, 0, 0));
  PolicyMatch m;
  CHECK(matches(m, in));
  CHECK(matches(m, out));

  SECTION("origin class") {
    m.origin = OriginClass::kInternal;
    CHECK(matches(m, in));
    CHECK_FALSE(matches(m, out));
    m.origin = OriginClass::kExternal;
    CHECK_FALSE(matches(m, in));
    CHECK(matches(m, out));
  }
  SECTION("zones") {
    m.zones = {"other"};
    CHECK_FALSE(matches(m, in));
    m.zones = {"other", "tsushima"};
    CHECK(matches(m, in));
  }
  SECTION("viruses") {
    m.viruses = {"Win.*"};
    CHECK_FALSE(matches(m, in));
    CHECK(matches(m, out));
  }
  SECTION("detectors") {
    m.detectors = {"gw2"};
    CHECK_FALSE(matches(m, in));
    m.detectors = {"gw1"};
    CHECK(matches(m, in));
  }
  SECTION("confidence: an empty list means exact only") {
    Incident fuzzy = in;
    fuzzy.confidence = Confidence::kFuzzy;
    CHECK_FALSE(matches(m, fuzzy));
    m.confidence = {"exact", "fuzzy"};
    CHECK(matches(m, fuzzy));
  }
}

TEST_CASE("an incident without an origin matches only origin: any", "[responder][policy]") {
  Incident in = internal_incident("a1", 0);
  in.origin.reset();
  in.confidence = Confidence::kAmbiguous;
  PolicyMatch m;
  m.confidence = {"ambiguous"};
  CHECK(matches(m, in));
  m.origin = OriginClass::kInternal;
  CHECK_FALSE(matches(m, in));
  m.origin = OriginClass::kAny;
  m.zones = {"tsushima"};
  CHECK_FALSE(matches(m, in));
}

TEST_CASE("the abuse contact is the one with the longest matching prefix", "[responder][policy]") {
  std::vector<AbuseContact> contacts = {
      {{*Cidr::parse("198.51.0.0/16")}, "abuse@big.example"},
      {{*Cidr::parse("198.51.100.0/24"), *Cidr::parse("2001:db8::/32")}, "abuse@small.example"}};
  CHECK(abuse_contact_for(contacts, "198.51.100.7") == "abuse@small.example");
  CHECK(abuse_contact_for(contacts, "198.51.7.7") == "abuse@big.example");
  CHECK(abuse_contact_for(contacts, "2001:db8::5") == "abuse@small.example");
  CHECK(abuse_contact_for(contacts, "192.0.2.1").empty());
  CHECK(abuse_contact_for(contacts, "not-an-ip").empty());
}

TEST_CASE("only addresses in our own domains count as ours", "[responder][policy]") {
  const std::vector<std::string> own = {"example.ac.jp"};
  CHECK(is_own_address("user@example.ac.jp", own));
  CHECK(is_own_address("user@EXAMPLE.AC.JP", own));
  CHECK(is_own_address("user@dept.example.ac.jp", own));
  CHECK_FALSE(is_own_address("user@badexample.ac.jp", own));
  CHECK_FALSE(is_own_address("user@example.ac.jp.evil.net", own));
  CHECK_FALSE(is_own_address("forged@example.com", own));
  CHECK_FALSE(is_own_address("no-at-sign", own));
}

}  // namespace vtrace::responder
