// The HTTP transport, shaped like Beast's http/server/async example: listener -> session ->
// router. The only file that includes Beast.
#include "responder/api/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

namespace vtrace::responder {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

void fail(beast::error_code ec, const char* what) {
  // operation_aborted is a normal part of shutdown; end_of_stream and timeouts are clients'.
  if (ec == net::error::operation_aborted || ec == http::error::end_of_stream ||
      ec == beast::error::timeout) {
    return;
  }
  std::clog << "vtrace-responder: http " << what << ": " << ec.message() << '\n';
}

// The header block a request may have (request line and fields); a larger one is answered 431.
constexpr std::uint32_t kHeaderLimit = 16 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 3986 host [":" port]: reg-name, IPv4 or a bracketed IP literal. Empty is allowed
// (RFC 9112 section 3.2 for a target without authority).
bool valid_host_value(std::string_view host) {
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~!$&'()*+,;=%:[]").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// What a request's header block is answered with before its body is read: a status for a
// request the server must refuse (RFC 9112), or nullopt to go on.
struct Refusal {
  http::status status;
  const char* message;
};

std::optional<Refusal> check_header(const http::request_parser<http::string_body>& parser) {
  const auto& req = parser.get();
  // Section 3.2: exactly one Host in HTTP/1.1, never two in any version, and a valid value.
  const auto hosts = req.equal_range(http::field::host);
  const auto host_count = std::distance(hosts.first, hosts.second);
  if (host_count > 1) return Refusal{http::status::bad_request, "more than one Host header"};
  if (host_count == 0 && req.version() >= 11) {
    return Refusal{http::status::bad_request, "an HTTP/1.1 request needs a Host header"};
  }
  if (host_count == 1 && !valid_host_value(trim(hosts.first->value()))) {
    return Refusal{http::status::bad_request, "the Host header is not a host"};
  }
  // Section 6.1 and 6.3: chunked is the only transfer coding served, and it must be the last
  // one; a request of another framing cannot be delimited safely.
  std::vector<std::string_view> codings;
  for (const auto& f : req) {
    if (f.name() != http::field::transfer_encoding) continue;
    std::string_view list = f.value();
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      const std::string_view coding = trim(list.substr(0, comma));
      if (!coding.empty()) codings.push_back(coding);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  // RFC 9110 section 10.1.1: 100-continue is the only expectation; HTTP/1.0 ones are ignored.
  const auto expect = req.find(http::field::expect);
  if (expect != req.end() && req.version() >= 11 &&
      !beast::iequals(trim(expect->value()), "100-continue")) {
    return Refusal{http::status::expectation_failed, "only Expect: 100-continue is understood"};
  }
  if (codings.empty()) return std::nullopt;
  if (req.version() < 11) {
    return Refusal{http::status::bad_request, "Transfer-Encoding in an HTTP/1.0 request"};
  }
  if (!beast::iequals(codings.back(), "chunked")) {
    return Refusal{http::status::bad_request,
                   "the last transfer coding is not chunked: the body cannot be delimited"};
  }
  if (codings.size() > 1) {
    return Refusal{http::status::not_implemented,
                   "only the chunked transfer coding is implemented, alone"};
  }
  return std::nullopt;
}

/** Represents an established HTTP connection */
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Router& router, const ListenConfig& listen)
      : stream_(std::move(socket)),
        deadline_(stream_.get_executor()),
        router_(router),
        listen_(listen) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = endpoint.address().to_string();
  }

  // Start the session on the connection's strand.
  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    // Construct a new parser for each message.
    parser_.emplace();
    // Apply a limit to the allowed size of the body in bytes to prevent abuse.
    parser_->body_limit(static_cast<std::uint64_t>(listen_.body_limit));
    parser_->header_limit(kHeaderLimit);
    // One deadline for the whole request, header and body: when it passes, the read is
    // cancelled and a request begun is answered 408 (the stream's own timeout would close the
    // socket before an answer could be written).
    stream_.expires_never();
    timed_out_ = false;
    const std::uint64_t request = ++requests_;
    deadline_.expires_after(std::chrono::microseconds(listen_.timeout));
    deadline_.async_wait([self = shared_from_this(), request](beast::error_code ec) {
      if (ec || request != self->requests_ || !self->reading_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    reading_ = true;
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    if (auto refusal = check_header(*parser_)) {
      reading_ = false;
      deadline_.cancel();
      return write_error(refusal->status, refusal->message);
    }
    const auto& req = parser_->get();
    if (req.version() >= 11 && req.find(http::field::expect) != req.end() && !parser_->is_done()) {
      // The client waits for this before it sends the body (curl does for bodies over 1 KiB).
      auto interim =
          std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      return http::async_write(
          stream_, *interim,
          [self = shared_from_this(), interim](beast::error_code ec, std::size_t) {
            if (ec) return self->on_read_error(ec);
            self->read_body();
          });
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    reading_ = false;
    deadline_.cancel();
    if (timed_out_) {
      // Nothing of a next request on a kept-alive connection: close quietly, as clients expect.
      if (!parser_->got_some() && buffer_.size() == 0) return do_close();
      return write_error(http::status::request_timeout,
                         "the request was not complete within listen.timeout");
    }
    // This means they closed the connection.
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit) {
      return write_error(http::status::payload_too_large,
                         "the body is larger than listen.body_limit");
    }
    if (ec == http::error::header_limit) {
      return write_error(http::status::request_header_fields_too_large,
                         "the header block is larger than 16 KiB");
    }
    if (ec.category() == beast::error_code(http::error::bad_target).category()) {
      return write_error(http::status::bad_request, "malformed HTTP request");
    }
    return fail(ec, "read");
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    reading_ = false;
    deadline_.cancel();
    const auto& req = parser_->get();
    ApiRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.authorization = std::string(req[http::field::authorization]);
    request.content_type = std::string(req[http::field::content_type]);
    request.body = req.body();
    request.peer = peer_;
    ApiResponse response = router_.handle(request);

    http::response<http::string_body> res{static_cast<http::status>(response.status),
                                          req.version()};
    res.set(http::field::server, "vtrace-responder");
    res.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::head) res.body() = std::move(response.body);
    res.prepare_payload();
    send(std::move(res));
  }

  // An answer of the transport itself (the request never reached the router), then close:
  // after a refused request the connection's framing cannot be trusted.
  void write_error(http::status status, const char* message) {
    router_.count_response(static_cast<int>(status));
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "vtrace-responder");
    res.set(http::field::content_type, "application/json");
    res.keep_alive(false);
    res.body() = boost::json::serialize(boost::json::object{{"error", message}});
    res.prepare_payload();
    send(std::move(res));
  }

  void send(http::response<http::string_body>&& res) {
    const bool keep_alive = res.keep_alive();
    auto message = std::make_shared<http::response<http::string_body>>(std::move(res));
    stream_.expires_after(std::chrono::microseconds(listen_.timeout));
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message, keep_alive](
                          beast::error_code ec, std::size_t) { self->on_write(keep_alive, ec); });
  }

  void on_write(bool keep_alive, beast::error_code ec) {
    if (ec) return fail(ec, "write");
    if (!keep_alive) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  net::steady_timer deadline_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Router& router_;
  ListenConfig listen_;
  std::string peer_;
  std::uint64_t requests_ = 0;  // which request the deadline belongs to
  bool reading_ = false;
  bool timed_out_ = false;
};

}  // namespace

// Accepts incoming connections and launches the sessions.
struct HttpServer::Listener : std::enable_shared_from_this<HttpServer::Listener> {
  Listener(net::io_context& ioc, Router& router, const ListenConfig& listen)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), router_(router), listen_(listen) {
    const std::string address = listen.address == "localhost" ? "127.0.0.1" : listen.address;
    tcp::endpoint endpoint{net::ip::make_address(address),
                           static_cast<unsigned short>(listen.port)};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  void do_accept() {
    // The new connection gets its own strand.
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      fail(ec, "accept");
    } else {
      std::make_shared<Session>(std::move(socket), router_, listen_)->run();
    }
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  Router& router_;
  ListenConfig listen_;
};

HttpServer::HttpServer(net::io_context& ioc, Router& router, const ListenConfig& listen)
    : listener_(std::make_shared<Listener>(ioc, router, listen)) {
  listener_->do_accept();
}

HttpServer::~HttpServer() { stop(); }

unsigned short HttpServer::port() const { return listener_->acceptor_.local_endpoint().port(); }

void HttpServer::stop() {
  net::post(listener_->acceptor_.get_executor(), [l = listener_] {
    beast::error_code ec;
    l->acceptor_.close(ec);
  });
}

}  // namespace vtrace::responder
