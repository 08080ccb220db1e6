// The SQLite wrapper every part of the responder stores through: a transaction keeps all or
// nothing, and a bad statement is an exception that names it, never a silent no-op.
#include "responder/store/sqlite.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

namespace vtrace::responder {
namespace {

std::int64_t rows(Database& db) {
  auto q = db.prepare("SELECT COUNT(*) FROM t");
  q.step();
  return q.integer(0);
}

}  // namespace

TEST_CASE("a transaction that is not committed leaves nothing behind", "[responder][store]") {
  Database db(":memory:");
  db.exec("CREATE TABLE t(v TEXT)");
  {
    Transaction tx(db);
    db.prepare("INSERT INTO t(v) VALUES(?)").bind(1, "lost").run();
    CHECK(rows(db) == 1);
  }
  CHECK(rows(db) == 0);
  {
    Transaction tx(db);
    db.prepare("INSERT INTO t(v) VALUES(?)").bind(1, "kept").run();
    tx.commit();
  }
  CHECK(rows(db) == 1);
}

TEST_CASE("bound values read back with their type and NULL stays NULL", "[responder][store]") {
  Database db(":memory:");
  db.exec("CREATE TABLE t(n INTEGER, s TEXT, z INTEGER)");
  db.prepare("INSERT INTO t VALUES(?,?,?)")
      .bind(1, std::int64_t{1} << 40)
      .bind(2, "a\nb")
      .bind_null(3)
      .run();
  CHECK(db.last_insert_rowid() == 1);
  CHECK(db.changes() == 1);
  auto q = db.prepare("SELECT n, s, z FROM t");
  REQUIRE(q.step());
  CHECK(q.integer(0) == std::int64_t{1} << 40);
  CHECK(q.text(1) == "a\nb");
  CHECK_FALSE(q.is_null(0));
  CHECK(q.is_null(2));
  CHECK_FALSE(q.step());
}

TEST_CASE("a statement SQLite rejects throws with the statement's text", "[responder][store]") {
  Database db(":memory:");
  try {
    db.prepare("SELECT nothing FROM no_such_table");
    FAIL("prepare accepted a query on a missing table");
  } catch (const SqliteError& e) {
    CHECK(std::string(e.what()).find("no_such_table") != std::string::npos);
  }
}

}  // namespace vtrace::responder
