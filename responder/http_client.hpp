// The Boost.Beast implementation of HttpClient (HTTP/1.1, HTTPS through OpenSSL), and the real
// Sleeper. http_client.cpp is the only file with the Beast client and the TLS setup.
#pragma once

#include <memory>

#include "responder/interfaces.hpp"

namespace vtrace::responder {

// One connection per request (Connection: close); the request's timeout bounds the whole
// exchange, name resolution included. HTTPS verifies the peer against the system store or the
// request's ca_file, and checks the host name (or IP address) against the certificate.
std::unique_ptr<HttpClient> make_beast_http_client();

class ThreadSleeper final : public Sleeper {
 public:
  void sleep_for(Duration d) override;
};

}  // namespace vtrace::responder
