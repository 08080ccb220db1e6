// The Beast transport over a real socket on 127.0.0.1 (port 0): one request each way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <thread>

#include "responder/http_server.hpp"
#include "support.hpp"

namespace vtrace::responder {
namespace {

// Sends `request` raw and returns everything the server answers until it closes.
std::string round_trip(unsigned short port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
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

}  // namespace

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
  const std::string reply = round_trip(
      port, "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Connection: close\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  INFO(reply);
  CHECK(reply.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  CHECK(reply.find("\"result\":\"created\"") != std::string::npos);

  const std::string big(10000, 'x');
  const std::string too_big = round_trip(
      port, "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::to_string(big.size()) + "\r\n\r\n" + big);
  INFO(too_big);
  CHECK(too_big.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0) == 0);

  const std::string garbage = round_trip(port, "NOT HTTP AT ALL\r\n\r\n");
  CHECK(garbage.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);

  const std::string get = round_trip(port, "GET /v1/incidents/abc123 HTTP/1.1\r\nHost: x\r\n"
                                         "Connection: close\r\n\r\n");
  CHECK(get.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(get.find("\"id\":\"abc123\"") != std::string::npos);

  server.stop();
  ioc.stop();
  runner.join();
}

}  // namespace vtrace::responder
