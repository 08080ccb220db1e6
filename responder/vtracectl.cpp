// vtracectl: the operators' CLI over the responder's HTTP API (list, show, outbox, release).
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "common/http_client.hpp"
#include "common/version.hpp"
#include "responder/config/config.hpp"

namespace json = boost::json;

namespace {

struct Reply {
  long status = 0;
  std::string body;
  std::string error;
};

// One request to the responder's API, through the project's HTTP client (the one the
// automation back ends and the correlator's outbox use).
Reply call(const std::string& method, const std::string& url, const std::string& token,
           const std::string& body = "") {
  static const std::unique_ptr<vtrace::HttpClient> client = vtrace::make_beast_http_client();
  vtrace::HttpRequest request;
  request.method = method;
  request.url = url;
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = body;
  request.timeout = vtrace::seconds(30);
  vtrace::HttpResponse response = client->send(request);
  if (!response.transport_ok) return {0, {}, response.error};
  return {response.status, std::move(response.body), {}};
}

std::string str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  const auto* p = v.get_object().if_contains(key);
  if (!p) return {};
  if (p->is_string()) return std::string(p->get_string());
  if (p->is_int64()) return std::to_string(p->get_int64());
  if (p->is_bool()) return p->get_bool() ? "true" : "false";
  return {};
}

std::string escape_query(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == ':') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Prints the error of a failed call; returns the exit code.
int report(const Reply& r) {
  if (!r.error.empty()) {
    std::cerr << "vtracectl: " << r.error << '\n';
    return 2;
  }
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  std::cerr << "vtracectl: HTTP " << r.status << ": " << (ec ? r.body : str(v, "error")) << '\n';
  return 1;
}

void print_incident(const json::value& doc) {
  const json::value& in = doc.get_object().at("incident");
  std::cout << "incident " << str(in, "id") << " (revision " << str(in, "revision") << ")\n";
  // A firewall's incident names no virus: the counts of what it saw instead.
  if (const auto* c = in.get_object().if_contains("direct_smtp"); c && c->is_object()) {
    std::cout << "  seen:        " << str(*c, "connections") << " SMTP connections to "
              << str(*c, "destinations") << " hosts (" << str(*c, "blocked") << " blocked, "
              << str(*c, "allowed") << " allowed), " << str(*c, "first_seen") << " to "
              << str(*c, "last_seen") << "\n";
  } else {
    std::cout << "  virus:       " << str(in, "virus") << "\n";
  }
  std::cout << "  detected:    " << str(in, "detected_at") << " by "
            << str(in.at("detector"), "host") << " (" << str(in.at("detector"), "format") << ")\n"
            << "  confidence:  " << str(in, "confidence") << "\n";
  if (in.get_object().at("origin").is_object()) {
    const auto& o = in.at("origin");
    std::cout << "  origin:      " << str(o, "ip") << " " << str(o, "name") << " "
              << (str(o, "internal") == "true" ? "internal, zone " + str(o, "zone")
                                               : std::string("external"))
              << "\n";
  } else {
    std::cout << "  origin:      (not determined)\n";
  }
  std::cout << "  envelope:    from " << str(in.at("envelope"), "from") << "\n";
  std::cout << "  received:    " << str(doc, "received_at") << " from " << str(doc, "received_from")
            << "\n";
  std::cout << "  hops:\n";
  for (const auto& h : in.at("hops").as_array()) {
    std::cout << "    " << str(h, "host") << " " << str(h, "queue_id") << " "
              << str(h, "received_at") << " from " << str(h, "client_ip") << " ("
              << str(h, "client_name") << ") by " << str(h, "link") << "\n";
  }
  std::cout << "  actions:\n";
  for (const auto& a : doc.at("actions").as_array()) {
    std::cout << "    " << str(a, "at") << " " << str(a, "policy") << "[" << str(a, "index") << "] "
              << str(a, "type") << ": " << str(a, "status") << " - " << str(a, "detail") << "\n";
  }
  std::cout << "  mails:\n";
  for (const auto& m : doc.at("mails").as_array()) {
    std::cout << "    #" << str(m, "id") << " " << str(m, "status") << " (" << str(m, "kind")
              << ", attempts " << str(m, "attempts") << ") " << str(m, "subject");
    if (!str(m, "last_error").empty()) std::cout << " [" << str(m, "last_error") << "]";
    std::cout << "\n";
  }
}

// Lists the incidents the responder refused for good, from the correlator's own outbox (the
// correlator does not send them again: they wait for an operator). Read-only.
int list_refused(const std::string& state_dir) {
  const std::string path = state_dir + "/correlator.db";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::cerr << "vtracectl: " << path << ": " << (db ? sqlite3_errmsg(db) : "cannot open") << '\n';
    sqlite3_close(db);
    return 2;
  }
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* stmt = nullptr;
  const char* sql =
      "SELECT id, revision, refusal FROM outbox WHERE delivered_revision < revision AND "
      "refused_revision = revision ORDER BY rowid DESC";
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    std::cerr << "vtracectl: " << path << ": " << sqlite3_errmsg(db)
              << " (a correlator of this version has not opened it yet?)\n";
    sqlite3_close(db);
    return 2;
  }
  std::printf("%-16s %-8s %s\n", "ID", "REVISION", "REFUSED BECAUSE");
  int rows = 0;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    auto text = [stmt](int i) {
      const auto* p = sqlite3_column_text(stmt, i);
      return std::string(p ? reinterpret_cast<const char*>(p) : "");
    };
    std::printf("%-16s %-8d %s\n", text(0).c_str(), sqlite3_column_int(stmt, 1), text(2).c_str());
    ++rows;
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  std::cerr << rows << " incident(s) refused by the responder\n";
  return 0;
}

// Where the responder is and the API token to show it (empty: none).
struct Api {
  std::string url;
  std::string token;
};

// vtracectl list: recent incidents, one line each.
int list_incidents(const Api& api, const std::string& origin, const std::string& since, int limit) {
  std::string q = "?limit=" + std::to_string(limit);
  if (!origin.empty()) q += "&origin=" + escape_query(origin);
  if (!since.empty()) q += "&since=" + escape_query(since);
  Reply r = call("GET", api.url + "/v1/incidents" + q, api.token);
  if (r.status != 200) return report(r);
  auto doc = json::parse(r.body);
  std::printf("%-16s %-27s %-16s %-9s %-10s %s\n", "ID", "DETECTED", "ORIGIN", "CLASS",
              "CONFIDENCE", "VIRUS");
  for (const auto& i : doc.at("incidents").as_array()) {
    const auto& o = i.at("origin");
    const std::string ip = o.is_object() ? str(o, "ip") : "-";
    const std::string cls = !o.is_object()                 ? "-"
                            : str(o, "internal") == "true" ? "internal"
                                                           : "external";
    const std::string seen = str(i, "kind") == "direct_smtp" ? "(direct SMTP)" : str(i, "virus");
    std::printf("%-16s %-27s %-16s %-9s %-10s %s\n", str(i, "id").c_str(),
                str(i, "detected_at").c_str(), ip.c_str(), cls.c_str(),
                str(i, "confidence").c_str(), seen.c_str());
  }
  return 0;
}

// vtracectl report: the statistics of /v1/stats as tables.
int show_report(const Api& api, const std::string& since) {
  Reply r = call("GET", api.url + "/v1/stats?since=" + escape_query(since), api.token);
  if (r.status != 200) return report(r);
  auto doc = json::parse(r.body);
  std::printf("vtrace report since %s\n\n", str(doc, "since").c_str());
  std::printf("%-40s %10s %8s\n", "VIRUS (internal origins)", "DETECTIONS", "HOSTS");
  std::int64_t total = 0;
  for (const auto& v : doc.at("viruses").as_array()) {
    std::printf("%-40s %10s %8s\n", str(v, "virus").c_str(), str(v, "detections").c_str(),
                str(v, "origins").c_str());
    total += v.at("detections").as_int64();
  }
  std::printf("%-40s %10lld\n\n", "total", static_cast<long long>(total));
  std::printf("detections from internal origins: %s\n", str(doc, "internal").c_str());
  std::printf("detections from external origins: %s\n", str(doc, "external").c_str());
  std::printf("origin not determined:            %s\n", str(doc, "unknown").c_str());
  // What firewalls saw, apart from the virus mail above: hosts sending SMTP past the relays.
  const json::object& top = doc.as_object();
  std::printf("direct SMTP bursts (firewall):    %s\n\n",
              top.contains("direct_smtp") ? str(doc, "direct_smtp").c_str() : "0");
  if (top.contains("direct_smtp_hosts") && !top.at("direct_smtp_hosts").as_array().empty()) {
    std::printf("%-16s %7s %12s %13s %8s  %s\n", "DIRECT SMTP FROM", "BURSTS", "CONNECTIONS",
                "DESTINATIONS", "BLOCKED", "LAST SEEN");
    for (const auto& h : top.at("direct_smtp_hosts").as_array()) {
      std::printf("%-16s %7s %12s %13s %8s  %s\n", str(h, "ip").c_str(), str(h, "bursts").c_str(),
                  str(h, "connections").c_str(), str(h, "destinations").c_str(),
                  str(h, "blocked").c_str(), str(h, "last_seen").c_str());
    }
    std::printf("\n");
  }
  std::printf("%-16s %-27s %-27s %s\n", "ORIGIN", "FIRST DETECTION", "CONTAINED",
              "TIME TO CONTAINMENT");
  for (const auto& t : doc.at("time_to_containment").as_array()) {
    const auto& secs = t.at("seconds");
    std::string took = "-";
    if (secs.is_number()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f s", secs.to_number<double>());
      took = buf;
    }
    const std::string at =
        t.at("contained_at").is_string() ? str(t, "contained_at") : "not contained";
    std::printf("%-16s %-27s %-27s %s\n", str(t, "ip").c_str(), str(t, "first_detection").c_str(),
                at.c_str(), took.c_str());
  }
  return 0;
}

// vtracectl show ID: one incident with its actions and mails.
int show_incident(const Api& api, const std::string& id) {
  Reply r = call("GET", api.url + "/v1/incidents/" + escape_query(id), api.token);
  if (r.status != 200) return report(r);
  print_incident(json::parse(r.body));
  return 0;
}

// vtracectl outbox: the mails in the outbox.
int list_outbox(const Api& api, const std::string& status) {
  std::string q = status.empty() ? "" : "?status=" + escape_query(status);
  Reply r = call("GET", api.url + "/v1/outbox" + q, api.token);
  if (r.status != 200) return report(r);
  auto doc = json::parse(r.body);
  for (const auto& m : doc.at("mails").as_array()) {
    std::string to;
    for (const auto& t : m.at("to").as_array())
      to += (to.empty() ? "" : ",") + std::string(t.as_string());
    std::printf("#%-6s %-8s %-12s %-30s %s\n", str(m, "id").c_str(), str(m, "status").c_str(),
                str(m, "kind").c_str(), to.c_str(), str(m, "subject").c_str());
  }
  return 0;
}

// vtracectl containments: port containments, one line each.
int list_containments(const Api& api, const std::string& status) {
  std::string q = status.empty() ? "" : "?status=" + escape_query(status);
  Reply r = call("GET", api.url + "/v1/containments" + q, api.token);
  if (r.status != 200) return report(r);
  auto doc = json::parse(r.body);
  std::printf("%-6s %-14s %-16s %-12s %-20s %-25s %s\n", "ID", "STATUS", "ORIGIN", "SWITCH", "PORT",
              "EXPIRES", "DETAIL");
  for (const auto& c : doc.at("containments").as_array()) {
    const std::string port = str(c, "port") + (str(c, "if_index") != "0" && !str(c, "port").empty()
                                                   ? " (" + str(c, "if_index") + ")"
                                                   : "");
    std::printf("c%-5s %-14s %-16s %-12s %-20s %-25s %s\n", str(c, "id").c_str(),
                str(c, "status").c_str(), str(c, "ip").c_str(), str(c, "switch").c_str(),
                port.c_str(), str(c, "expires_at").c_str(), str(c, "detail").c_str());
  }
  return 0;
}

// vtracectl release cID: asks for a port to be re-enabled and, unless --wait 0, follows the
// containment until the write is verified or has failed.
int release_containment(const Api& api, const std::string& id, const std::string& reason,
                        const std::string& operator_name, int wait_seconds) {
  const std::string n = id.substr(1);
  if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) {
    std::cerr << "vtracectl: " << id << " is not a containment id such as c12\n";
    return 2;
  }
  if (reason.empty()) {
    std::cerr << "vtracectl: releasing a port needs --reason \"...\" (it goes to the audit)\n";
    return 2;
  }
  json::object body{{"reason", reason}, {"operator", operator_name}};
  Reply r = call("POST", api.url + "/v1/containments/" + n + "/release", api.token,
                 json::serialize(body));
  if (r.status == 200) {
    std::cout << "containment c" << n << " cancelled: " << str(json::parse(r.body), "message")
              << "\n";
    return 0;
  }
  if (r.status != 202) return report(r);
  // The responder's containment worker writes the port; follow the containment until the
  // write is verified or has failed.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(std::max(wait_seconds, 0));
  for (;;) {
    Reply list = call("GET", api.url + "/v1/containments", api.token);
    if (list.status != 200) return report(list);
    const json::value doc = json::parse(list.body);
    for (const auto& c : doc.at("containments").as_array()) {
      if (str(c, "id") != n) continue;
      const std::string state = str(c, "status");
      if (state == "released") {
        std::cout << "containment c" << n << " released: " << str(c, "detail") << "\n";
        return 0;
      }
      if (state == "release_failed") {
        std::cerr << "vtracectl: containment c" << n << " release failed (retried every "
                  << "minute): " << str(c, "detail") << "\n";
        return 1;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::cout << "containment c" << n << " release requested; still in progress (see "
                << "'vtracectl containments')\n";
      return wait_seconds > 0 ? 3 : 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// vtracectl release ID: releases a held mail.
int release_mail(const Api& api, const std::string& id) {
  Reply r = call("POST", api.url + "/v1/outbox/" + escape_query(id) + "/release", api.token);
  if (r.status != 200) return report(r);
  std::cout << "mail " << id << " released\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vtracectl: operate the vtrace responder over its HTTP API"};
  const char* env_url = std::getenv("VTRACE_RESPONDER_URL");
  std::string url = env_url ? env_url : "http://127.0.0.1:8025";
  std::string secrets_file;
  app.set_version_flag("--version", std::string("vtracectl ") + vtrace::kVersion);
  app.add_option("--url", url, "the responder's base URL (env VTRACE_RESPONDER_URL)")
      ->capture_default_str();
  app.add_option("--secrets", secrets_file,
                 "read api_token from this secrets file (else env VTRACE_API_TOKEN)");
  app.require_subcommand(1);
  std::string origin, since, id, status;
  int limit = 50;
  auto* list = app.add_subcommand("list", "list recent incidents");
  list->add_option("--origin", origin, "only this origin IP");
  list->add_option("--since", since, "RFC 3339 time or a duration such as 1h");
  list->add_option("--limit", limit, "at most this many")->capture_default_str();
  auto* show = app.add_subcommand("show", "show one incident with its actions and mails");
  show->add_option("id", id, "incident id")->required();
  auto* outbox = app.add_subcommand("outbox", "list mails in the outbox");
  outbox->add_option("--status", status, "queued, sent, failed, held or dry_run");
  auto* release = app.add_subcommand(
      "release", "release a held mail (ID) or re-enable a contained port (cID, with --reason)");
  release->add_option("id", id, "mail id, or c<containment id> as listed by 'containments'")
      ->required();
  std::string reason;
  const char* user = std::getenv("SUDO_USER") ? std::getenv("SUDO_USER") : std::getenv("USER");
  std::string operator_name = user ? user : "";
  release->add_option("--reason", reason, "why the port is re-enabled (required for cID)");
  release->add_option("--operator", operator_name, "who re-enables it (default: $USER)");
  int wait_seconds = 120;
  release
      ->add_option("--wait", wait_seconds,
                   "seconds to wait for the port to be re-enabled and verified (0: do not "
                   "wait)")
      ->capture_default_str();
  std::string state_dir = "/var/lib/vtrace/correlator";
  auto* refused = app.add_subcommand(
      "refused",
      "list incidents the responder refused for good (read from the correlator's "
      "outbox on this host)");
  refused->add_option("--state-dir", state_dir, "the correlator's output.state_dir")
      ->capture_default_str();
  auto* containments = app.add_subcommand("containments", "list port containments");
  containments->add_option(
      "--status", status,
      "pending, retrying, held, down, escaped, dry_run, refused, not_located, failed, "
      "released, ...");
  auto* report_cmd = app.add_subcommand(
      "report",
      "statistics: detections per virus (internal origins), internal vs external, "
      "time to containment");
  std::string report_since = "18d";
  report_cmd->add_option("--since", report_since, "RFC 3339 time or a duration such as 18d")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (*refused) return list_refused(state_dir);
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string token;
  if (!secrets_file.empty()) {
    vtrace::Diagnostics d;
    auto s = vtrace::responder::load_secrets(secrets_file, d);
    if (!s) {
      std::cerr << d.render();
      return 2;
    }
    token = s->api_token;
  } else if (const char* t = std::getenv("VTRACE_API_TOKEN")) {
    token = t;
  }
  const Api api{url, token};

  if (*list) return list_incidents(api, origin, since, limit);
  if (*report_cmd) return show_report(api, report_since);
  if (*show) return show_incident(api, id);
  if (*outbox) return list_outbox(api, status);
  if (*containments) return list_containments(api, status);
  if (*release && !id.empty() && (id[0] == 'c' || id[0] == 'C'))
    return release_containment(api, id, reason, operator_name, wait_seconds);
  if (*release) return release_mail(api, id);
  return 2;
}
