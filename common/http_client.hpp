// HTTP for every part of vtrace: the requests the responder's automation back ends send and the
// correlator's incident POSTs, behind one interface so their callers are tested with a scripted
// client, and the one real client (Boost.Beast, HTTP/1.1, HTTPS through OpenSSL). Linking
// OpenSSL costs a process start far less than libcurl and its protocol libraries.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/time.hpp"

namespace vtrace {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http:// or https://, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration timeout = seconds(10);  // the whole exchange: connect, TLS, write, read
  std::string ca_file;             // https: a private CA; empty = the system store
};

struct HttpResponse {
  bool transport_ok = false;  // false: no HTTP answer (DNS, connect, TLS, timeout)
  int status = 0;
  std::string body;
  std::string error;  // the transport error when !transport_ok
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // One exchange; never throws. Bodies above a few MiB are a transport error.
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

// One connection per request (Connection: close); the request's timeout bounds the whole
// exchange, name resolution included. HTTPS verifies the peer against the system store or the
// request's ca_file, and checks the host name (or IP address) against the certificate.
std::unique_ptr<HttpClient> make_beast_http_client();

}  // namespace vtrace
