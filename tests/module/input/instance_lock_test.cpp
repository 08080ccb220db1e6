#include "module/input/instance_lock.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

std::string fresh_directory() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "vtrace-lock-test-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

constexpr std::chrono::milliseconds kNoWait{0};

}  // namespace

TEST_CASE("a second correlator on the same state directory is refused, naming the holder") {
  const std::string dir = fresh_directory();
  std::string error;
  auto first = vtrace::InstanceLock::acquire(dir, kNoWait, error);
  REQUIRE(first.has_value());
  auto second = vtrace::InstanceLock::acquire(dir, kNoWait, error);
  CHECK_FALSE(second.has_value());
  CHECK(error.find("another vtrace-correlator (pid " + std::to_string(::getpid()) + ")") !=
        std::string::npos);
  CHECK(error.find(dir + "/correlator.lock") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the state directory's lock is free again once its holder is gone") {
  const std::string dir = fresh_directory();
  std::string error;
  {
    auto first = vtrace::InstanceLock::acquire(dir, kNoWait, error);
    REQUIRE(first.has_value());
  }
  auto next = vtrace::InstanceLock::acquire(dir, kNoWait, error);
  CHECK(next.has_value());
  std::filesystem::remove_all(dir);
}

TEST_CASE("a state directory that cannot hold the lock file is reported, not waited on") {
  std::string error;
  auto lock = vtrace::InstanceLock::acquire("/nonexistent/vtrace-state", kNoWait, error);
  CHECK_FALSE(lock.has_value());
  CHECK(error.find("cannot open /nonexistent/vtrace-state/correlator.lock") != std::string::npos);
}
