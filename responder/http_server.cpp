// The HTTP transport, shaped like Beast's http/server/async example: listener -> session ->
// router. The only file that includes Beast.
#include "responder/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iostream>

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

/** Represents an established HTTP connection */
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Router& router, const ListenConfig& listen)
      : stream_(std::move(socket)), router_(router), listen_(listen) {
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
    parser_->header_limit(16 * 1024);
    // Set the timeout.
    stream_.expires_after(std::chrono::microseconds(listen_.timeout));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    // This means they closed the connection.
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit) {
      return write_error(http::status::payload_too_large,
                         "{\"error\":\"the body is larger than listen.body_limit\"}");
    }
    if (ec == beast::error::timeout) return;
    if (ec) {
      if (ec.category() == beast::error_code(http::error::bad_target).category()) {
        return write_error(http::status::bad_request, "{\"error\":\"malformed HTTP request\"}");
      }
      return fail(ec, "read");
    }
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

  void write_error(http::status status, const char* body) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "vtrace-responder");
    res.set(http::field::content_type, "application/json");
    res.keep_alive(false);
    res.body() = body;
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
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Router& router_;
  ListenConfig listen_;
  std::string peer_;
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
