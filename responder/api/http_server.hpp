// HttpServer: the Beast listener and sessions that carry requests to the Router.
#pragma once

#include <memory>

#include "responder/api/router.hpp"
#include "responder/config/config.hpp"

namespace boost::asio {
class io_context;
}

namespace vtrace::responder {

// Accepts connections on the configured address and serves each with a session on the given
// io_context (one thread). The Router outlives the server.
class HttpServer {
 public:
  // Binds and listens; throws std::system_error when the address cannot be bound.
  HttpServer(boost::asio::io_context& ioc, Router& router, const ListenConfig& listen);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (useful with port 0).
  unsigned short port() const;
  // Stops accepting; open sessions finish on their own.
  void stop();

 private:
  struct Listener;
  std::shared_ptr<Listener> listener_;
};

}  // namespace vtrace::responder
