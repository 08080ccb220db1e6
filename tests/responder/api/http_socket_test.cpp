// The Beast transport over a real socket on 127.0.0.1 (port 0): one request each way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <optional>
#include <thread>

#include "responder/api/http_server.hpp"
#include "tests/responder/support.hpp"

namespace vtrace::responder {
namespace {

// Sends `request` raw and returns everything the server answers until it closes (a receive
// timeout of 20 s keeps a server that never answers from hanging the test).
std::string round_trip(unsigned short port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval limit{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (oversized body)
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

// A responder's HTTP server on 127.0.0.1 with an empty policy set, run on its own thread.
struct LiveServer {
  explicit LiveServer(Duration timeout = seconds(5)) {
    listen.address = "127.0.0.1";
    listen.port = 0;
    listen.body_limit = 4096;
    listen.timeout = timeout;
    server.emplace(ioc, router, listen);
    runner = std::thread([this] { ioc.run(); });
  }
  ~LiveServer() {
    server->stop();
    ioc.stop();
    runner.join();
  }
  std::string call(const std::string& request) { return round_trip(server->port(), request); }

  test::FakeClock clock;
  std::shared_ptr<ResponderConfig> config = std::make_shared<ResponderConfig>();
  Engine engine{config, clock, ":memory:"};
  Router router{engine, "", false};
  ListenConfig listen;
  boost::asio::io_context ioc{1};
  std::optional<HttpServer> server;
  std::thread runner;
};

bool starts_with(const std::string& reply, const std::string& status_line) {
  return reply.rfind(status_line + "\r\n", 0) == 0;
}

}  // namespace

TEST_CASE("a header block over 16 KiB is answered 431 and the connection closed",
          "[responder][http][socket]") {
  LiveServer live;
  const std::string reply = live.call(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(17 * 1024, 'a') + "\r\n\r\n");
  INFO(reply);
  CHECK(starts_with(reply, "HTTP/1.1 431 Request Header Fields Too Large"));
  CHECK(reply.find("Connection: close") != std::string::npos);
  // a header block under the limit is served
  const std::string fine =
      live.call("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(8 * 1024, 'a') +
                "\r\nConnection: close\r\n\r\n");
  CHECK(starts_with(fine, "HTTP/1.1 200 OK"));
}

TEST_CASE("an HTTP/1.1 request without Host, with two or with a bad one is answered 400",
          "[responder][http][socket]") {
  LiveServer live;
  for (const std::string& headers : {std::string(""), std::string("Host: a\r\nHost: b\r\n"),
                                     std::string("Host: a\r\nHost: a\r\n"),
                                     std::string("Host: a b\r\n"), std::string("Host: a/b\r\n")}) {
    INFO(headers);
    const std::string reply = live.call("GET /healthz HTTP/1.1\r\n" + headers + "\r\n");
    INFO(reply);
    CHECK(starts_with(reply, "HTTP/1.1 400 Bad Request"));
    CHECK(reply.find("Host") != std::string::npos);  // the body says what was wrong
    CHECK(reply.find("ok\n") == std::string::npos);
  }
  // HTTP/1.0 may leave Host out, but not give two; an empty Host value is valid.
  CHECK(starts_with(live.call("GET /healthz HTTP/1.0\r\n\r\n"), "HTTP/1.0 200 OK"));
  CHECK(starts_with(live.call("GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
                    "HTTP/1.1 400 Bad Request"));
  CHECK(starts_with(live.call("GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"),
                    "HTTP/1.1 200 OK"));
  CHECK(starts_with(
      live.call("GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n"),
      "HTTP/1.1 200 OK"));
}

TEST_CASE("a transfer coding other than a lone final chunked is refused before the body is read",
          "[responder][http][socket]") {
  LiveServer live;
  const std::string body = to_json(test::internal_incident("abc123", live.clock.now()));
  auto post = [&](const std::string& codings, const std::string& chunked_body) {
    return live.call(
        "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + codings +
        "Connection: close\r\n\r\n" + chunked_body);
  };
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  const std::string chunked = std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n";
  // codings the server does not implement, with chunked last: 501
  for (const std::string& codings :
       {std::string("Transfer-Encoding: gzip, chunked\r\n"),
        std::string("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
        std::string("Transfer-Encoding: chunked, chunked\r\n")}) {
    INFO(codings);
    const std::string reply = post(codings, chunked);
    INFO(reply);
    CHECK(starts_with(reply, "HTTP/1.1 501 Not Implemented"));
  }
  // chunked not last: the body cannot be delimited at all (RFC 9112 section 6.3): 400
  for (const std::string& codings : {std::string("Transfer-Encoding: gzip\r\n"),
                                     std::string("Transfer-Encoding: chunked, gzip\r\n")}) {
    INFO(codings);
    const std::string reply = post(codings, chunked);
    INFO(reply);
    CHECK(starts_with(reply, "HTTP/1.1 400 Bad Request"));
  }
  CHECK(live.call("GET /v1/incidents/abc123 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .find("HTTP/1.1 404") == 0);
  // a lone chunked is served
  const std::string reply = post("Transfer-Encoding: chunked\r\n", chunked);
  INFO(reply);
  CHECK(starts_with(reply, "HTTP/1.1 201 Created"));
}

TEST_CASE("a request that expects 100-continue gets it before its body is read",
          "[responder][http][socket]") {
  LiveServer live;
  const std::string body = to_json(test::internal_incident("abc123", live.clock.now()));
  const std::string head =
      "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Connection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n";
  std::string reply = live.call(head + "Expect: 100-continue\r\n\r\n" + body);
  INFO(reply);
  CHECK(starts_with(reply, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created"));
  // an expectation the server does not know is refused before the body
  reply = live.call(head + "Expect: the-moon\r\n\r\n" + body);
  CHECK(starts_with(reply, "HTTP/1.1 417 Expectation Failed"));
}

TEST_CASE("a request not complete within listen.timeout is answered 408 and closed",
          "[responder][http][socket]") {
  LiveServer live(Duration{300'000});
  // The header block never ends.
  std::string reply = live.call("POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Le");
  INFO(reply);
  CHECK(starts_with(reply, "HTTP/1.1 408 Request Timeout"));
  CHECK(reply.find("Connection: close") != std::string::npos);
  // The body stops short of its Content-Length.
  reply = live.call("POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"sch");
  INFO(reply);
  CHECK(starts_with(reply, "HTTP/1.1 408 Request Timeout"));
  // A connection that never began a request is closed without an answer.
  CHECK(live.call("").empty());
  // After an answered request, the kept-alive connection's idle end is silent too.
  reply = live.call("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(starts_with(reply, "HTTP/1.1 200 OK"));
  CHECK(reply.find("408") == std::string::npos);
}

TEST_CASE("every answer of the transport is counted in http_responses_total",
          "[responder][http][socket][metrics]") {
  LiveServer live(Duration{300'000});
  live.call("POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" +
            std::string(10000, 'x'));                                                    // 413
  live.call("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(17000, 'a') + "\r\n\r\n");  // 431
  live.call("GET / HTTP/1.1\r\n\r\n");                                                   // 400
  live.call("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");   // 501
  live.call("GET / HTTP/1.1\r\nHost: x\r\n");                                            // 408
  live.call("NOT HTTP AT ALL\r\n\r\n");                                                  // 400
  live.call("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");            // 200
  CHECK(live.router.responses(2) == 1);
  CHECK(live.router.responses(4) == 5);
  CHECK(live.router.responses(5) == 1);
  const std::string metrics =
      live.call("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(metrics.find("vtrace_responder_http_responses_total{code=\"4xx\"} 5\n") !=
        std::string::npos);
  CHECK(metrics.find("vtrace_responder_http_responses_total{code=\"5xx\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("the HTTP server stores a posted incident and enforces the body limit",
          "[responder][http][socket]") {
  test::FakeClock clock;
  auto config = std::make_shared<ResponderConfig>();
  Engine engine(config, clock, ":memory:");
  Router router(engine, "", false);
  ListenConfig listen;
  listen.address = "127.0.0.1";
  listen.port = 0;
  listen.body_limit = 4096;
  listen.timeout = seconds(5);
  boost::asio::io_context ioc{1};
  HttpServer server(ioc, router, listen);
  const unsigned short port = server.port();
  REQUIRE(port != 0);
  std::thread runner([&] { ioc.run(); });

  const std::string body = to_json(test::internal_incident("abc123", clock.now()));
  const std::string reply =
      round_trip(port,
                 "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
  INFO(reply);
  CHECK(reply.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  CHECK(reply.find("\"result\":\"created\"") != std::string::npos);

  const std::string big(10000, 'x');
  const std::string too_big =
      round_trip(port, "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(big.size()) + "\r\n\r\n" + big);
  INFO(too_big);
  CHECK(too_big.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0) == 0);

  const std::string garbage = round_trip(port, "NOT HTTP AT ALL\r\n\r\n");
  CHECK(garbage.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);

  const std::string get = round_trip(port,
                                     "GET /v1/incidents/abc123 HTTP/1.1\r\nHost: x\r\n"
                                     "Connection: close\r\n\r\n");
  CHECK(get.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(get.find("\"id\":\"abc123\"") != std::string::npos);

  server.stop();
  ioc.stop();
  runner.join();
}

}  // namespace vtrace::responder
