// HttpClient over Boost.Beast and Asio coroutines; TLS through Asio's OpenSSL wrapper. The only
// file with the Beast client and the TLS setup.
#include "common/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <optional>

#include "common/url.hpp"

namespace vtrace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr std::uint64_t kMaxBody = 4 << 20;

using Clock = std::chrono::steady_clock;

bool is_ip(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

std::string host_header(const Url& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + url.host + "]" : url.host;
  if (url.port != (url.https ? 443 : 80)) host += ":" + std::to_string(url.port);
  return host;
}

bool header_safe(const std::string& s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Resolves with a timer racing the resolver (it has no timeout of its own).
net::awaitable<tcp::resolver::results_type> resolve(const Url& url, Clock::time_point deadline) {
  auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver(executor);
  net::steady_timer timer(executor, deadline);
  timer.async_wait([&resolver](boost::system::error_code ec) {
    if (!ec) resolver.cancel();
  });
  auto results =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), net::use_awaitable);
  timer.cancel();
  co_return results;
}

template <class Stream>
net::awaitable<void> exchange(Stream& stream, const Url& url, const HttpRequest& request,
                              HttpResponse& out) {
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(url.target);
  req.version(11);
  req.set(http::field::host, host_header(url));
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  if (!request.body.empty() || request.method != "GET") req.prepare_payload();
  co_await http::async_write(stream, req, net::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  co_await http::async_read(stream, buffer, parser, net::use_awaitable);
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  out.transport_ok = true;
}

net::awaitable<void> run(ssl::context* tls, Url url, const HttpRequest& request,
                         Clock::time_point deadline, HttpResponse& out) {
  auto executor = co_await net::this_coro::executor;
  auto endpoints = co_await resolve(url, deadline);
  beast::tcp_stream tcp_stream(executor);
  if (!tls) {
    tcp_stream.expires_at(deadline);
    co_await tcp_stream.async_connect(endpoints, net::use_awaitable);
    co_await exchange(tcp_stream, url, request, out);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *tls);
  SSL* handle = stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(handle);
  if (is_ip(url.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(handle, url.host.c_str());
    X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
  }
  beast::get_lowest_layer(stream).expires_at(deadline);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, net::use_awaitable);
  co_await stream.async_handshake(ssl::stream_base::client, net::use_awaitable);
  co_await exchange(stream, url, request, out);
}

class BeastHttpClient final : public HttpClient {
 public:
  HttpResponse send(const HttpRequest& request) override {
    HttpResponse out;
    std::string problem;
    auto url = parse_url(request.url, &problem);
    if (!url) {
      out.error = problem;
      return out;
    }
    if (!header_safe(request.method)) {
      out.error = "bad method";
      return out;
    }
    for (const auto& [name, value] : request.headers) {
      if (!header_safe(name) || !header_safe(value)) {
        out.error = "a header contains CR, LF or NUL";
        return out;
      }
    }
    std::optional<ssl::context> tls;
    if (url->https) {
      tls.emplace(ssl::context::tls_client);
      tls->set_verify_mode(ssl::verify_peer);
      boost::system::error_code ec;
      if (request.ca_file.empty()) {
        tls->set_default_verify_paths(ec);
      } else {
        tls->load_verify_file(request.ca_file, ec);
      }
      if (ec) {
        out.error = "cannot load the trusted CAs: " + ec.message();
        return out;
      }
    }
    const auto deadline = Clock::now() + std::chrono::microseconds(request.timeout);
    net::io_context ioc(1);
    std::exception_ptr failure;
    net::co_spawn(ioc, run(tls ? &*tls : nullptr, *url, request, deadline, out),
                  [&failure](std::exception_ptr e) { failure = e; });
    ioc.run();
    if (failure) {
      out.transport_ok = false;
      out.status = 0;
      try {
        std::rethrow_exception(failure);
      } catch (const boost::system::system_error& e) {
        const bool late = Clock::now() >= deadline || e.code() == beast::error::timeout ||
                          e.code() == net::error::operation_aborted;
        out.error = late ? "timeout after " + std::to_string(request.timeout / 1000) + " ms"
                         : e.code().message();
      } catch (const std::exception& e) {
        out.error = e.what();
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<HttpClient> make_beast_http_client() { return std::make_unique<BeastHttpClient>(); }

}  // namespace vtrace
