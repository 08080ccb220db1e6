// Wiring of the daemon: configuration, engine, HTTP server, timers, signals, mail worker.
#include "responder/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "common/http_client.hpp"
#include "responder/api/http_server.hpp"
#include "responder/api/router.hpp"
#include "responder/config/config.hpp"
#include "responder/containment/http_port_controllers.hpp"
#include "responder/containment/netsnmp_client.hpp"
#include "responder/engine.hpp"
#include "responder/mail/smtp_sender.hpp"

namespace vtrace::responder {

namespace net = boost::asio;

namespace {

struct Loaded {
  std::shared_ptr<const ResponderConfig> config;
  Secrets secrets;
};

// The configuration and its secrets, or nullopt with every problem in `diagnostics`.
std::optional<Loaded> load_all(const std::string& path, Diagnostics& diagnostics) {
  auto config = load_responder_config(path, diagnostics);
  if (!config) return std::nullopt;
  Secrets secrets;
  if (!config->secrets_file.empty()) {
    auto s = load_secrets(config->secrets_file, diagnostics);
    if (!s) return std::nullopt;
    secrets = *s;
  }
  if (!check_secrets(*config, secrets, diagnostics)) return std::nullopt;
  return Loaded{std::make_shared<const ResponderConfig>(std::move(*config)), secrets};
}

// Delivers the outbox on its own thread, so a slow SMTP server never stalls the API.
class MailWorker {
 public:
  MailWorker(Engine& engine, std::string password)
      : engine_(engine), password_(std::move(password)), thread_([this] { loop(); }) {}

  ~MailWorker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  void set_password(std::string password) {
    std::lock_guard lock(mutex_);
    password_ = std::move(password);
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      const std::string password = password_;
      lock.unlock();
      try {
        SmtpSender sender(engine_.config()->smtp, password);
        engine_.deliver_due(sender, 50);
      } catch (const std::exception& e) {
        std::clog << "vtrace-responder: mail delivery: " << e.what() << '\n';
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; });
    }
  }

  Engine& engine_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string password_;
  std::thread thread_;
};

// Works through containments on its own thread: woken by an ingest that queued one, and every
// 250 ms for the re-enable timers.
class ContainmentWorker {
 public:
  explicit ContainmentWorker(Engine& engine) : engine_(engine), thread_([this] { loop(); }) {}

  ~ContainmentWorker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  void wake() {
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
    }
    wake_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      woken_ = false;
      lock.unlock();
      try {
        engine_.process_containments();
      } catch (const std::exception& e) {
        std::clog << "vtrace-responder: containment: " << e.what() << '\n';
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_ || woken_; });
    }
  }

  Engine& engine_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

std::shared_ptr<const ContainmentConfig> containment_of(std::shared_ptr<const ResponderConfig> c) {
  return std::shared_ptr<const ContainmentConfig>(c, &c->containment);
}

// The port writers of one configuration: SNMP, webhook and AWX, and the dispatch between them
// by each switch's back end. Rebuilt as a whole on a reload.
struct PortControllers {
  PortControllers(SnmpClient& snmp, HttpClient& http, Sleeper& sleeper, const Clock& clock,
                  const Loaded& loaded)
      : reader(snmp, containment_of(loaded.config), loaded.secrets.snmp_credentials),
        snmp_writer(snmp, containment_of(loaded.config), loaded.secrets.snmp_credentials),
        webhook({http, sleeper, clock, &reader}, containment_of(loaded.config),
                loaded.secrets.http_credentials),
        awx({http, sleeper, clock, &reader}, containment_of(loaded.config),
            loaded.secrets.http_credentials),
        dispatch(containment_of(loaded.config), &snmp_writer, &webhook, &awx) {}

  SnmpPortReader reader;
  SnmpPortController snmp_writer;
  WebhookPortController webhook;
  AwxPortController awx;
  BackendPortController dispatch;
};

}  // namespace

int check_config(const std::string& config_path) {
  Diagnostics diagnostics;
  if (!load_all(config_path, diagnostics)) {
    std::cerr << diagnostics.render();
    return 1;
  }
  std::cerr << config_path << ": OK\n";
  return 0;
}

int run_daemon(const std::string& config_path) {
  Diagnostics diagnostics;
  auto loaded = load_all(config_path, diagnostics);
  if (!loaded) {
    std::cerr << diagnostics.render();
    return 1;
  }
  SystemClock clock;
  std::unique_ptr<Engine> engine;
  try {
    engine = std::make_unique<Engine>(loaded->config, clock, loaded->config->state_file);
  } catch (const std::exception& e) {
    std::cerr << "vtrace-responder: state file " << loaded->config->state_file << ": " << e.what()
              << '\n';
    return 1;
  }
  const ListenConfig listen = loaded->config->listen;
  Router router(*engine, loaded->secrets.api_token, !is_loopback_address(listen.address));
  router.set_web_root(listen.web_root);
  net::io_context ioc{1};
  std::unique_ptr<HttpServer> server;
  try {
    server = std::make_unique<HttpServer>(ioc, router, listen);
  } catch (const std::exception& e) {
    std::cerr << "vtrace-responder: cannot listen on " << listen.address << ":" << listen.port
              << ": " << e.what() << '\n';
    return 1;
  }
  std::cerr << "vtrace-responder: listening on " << listen.address << ":" << server->port() << ", "
            << loaded->config->policies.size() << " policies, state " << loaded->config->state_file
            << '\n';
  engine->audit("daemon", "start", config_path);
  MailWorker worker(*engine, loaded->secrets.smtp_password);

  // Containment: Net-SNMP keeps its own state next to the state file, never in /var/lib/snmp.
  const std::string snmp_dir =
      (std::filesystem::path(loaded->config->state_file).parent_path() / "snmp").string();
  std::unique_ptr<SnmpClient> snmp = make_netsnmp_client(snmp_dir);
  PortLocator locator(*snmp, clock);
  locator.set_credentials(loaded->secrets.snmp_credentials);
  std::unique_ptr<HttpClient> http = make_beast_http_client();
  ThreadSleeper sleeper;
  auto controllers = std::make_unique<PortControllers>(*snmp, *http, sleeper, clock, *loaded);
  ContainmentBackend backend;
  backend.locator = &locator;
  backend.controller = &controllers->dispatch;
  ContainmentWorker containment_worker(*engine);
  engine->set_containment_backend(&backend, [&containment_worker] { containment_worker.wake(); });

  // Digest windows are flushed once a second.
  net::steady_timer tick(ioc);
  std::function<void()> schedule = [&] {
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      try {
        engine->flush_digests();
      } catch (const std::exception& e) {
        std::clog << "vtrace-responder: digest flush: " << e.what() << '\n';
      }
      schedule();
    });
  };
  schedule();

  net::signal_set stop_signals(ioc, SIGINT, SIGTERM);
  stop_signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    std::cerr << "vtrace-responder: stopping\n";
    server->stop();
    tick.cancel();
    ioc.stop();
  });

  // SIGHUP: build the new configuration aside and swap it in only when it has no errors.
  net::signal_set hup(ioc, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      Diagnostics found;
      auto next = load_all(config_path, found);
      if (!next) {
        engine->counters().config_reload_failures++;
        std::cerr << "vtrace-responder: reload rejected; keeping the running configuration\n"
                  << found.render();
        engine->audit("daemon", "reload.rejected", std::to_string(found.size()) + " errors");
      } else {
        if (next->config->listen.address != listen.address ||
            next->config->listen.port != listen.port ||
            next->config->state_file != loaded->config->state_file) {
          std::cerr << "vtrace-responder: listen and state_file changes take effect at the next "
                       "restart\n";
        }
        {
          std::lock_guard io(backend.io);
          locator.set_credentials(next->secrets.snmp_credentials);
          controllers = std::make_unique<PortControllers>(*snmp, *http, sleeper, clock, *next);
          backend.controller = &controllers->dispatch;
        }
        engine->set_config(next->config);
        worker.set_password(next->secrets.smtp_password);
        engine->counters().config_reloads++;
        engine->audit("daemon", "reload", config_path);
        std::cerr << "vtrace-responder: configuration reloaded (" << next->config->policies.size()
                  << " policies)\n";
      }
      wait_hup();
    });
  };
  wait_hup();

  ioc.run();
  engine->audit("daemon", "stop", config_path);
  return 0;
}

}  // namespace vtrace::responder
