#include "module/input/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>
#include <utility>

namespace vtrace {
namespace {

constexpr std::chrono::milliseconds kRetryEvery{50};

// The pid the holder wrote into the file, as text; empty if there is none.
std::string holder_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return {};
  std::string_view text(buffer, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.remove_suffix(1);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return {};
  return std::string(text);
}

}  // namespace

std::optional<InstanceLock> InstanceLock::acquire(const std::string& directory,
                                                  std::chrono::milliseconds wait,
                                                  std::string& error) {
  std::string path = directory + "/correlator.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) break;
    const int failure = errno;
    if (failure == EINTR) continue;
    if (failure != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      if (failure == EWOULDBLOCK) {
        const std::string pid = holder_pid(fd);
        error = "another vtrace-correlator" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                " is running on this state directory (" + path + " is locked)";
      } else {
        error = "cannot lock " + path + ": " + std::strerror(failure);
      }
      ::close(fd);
      return std::nullopt;
    }
    std::this_thread::sleep_for(kRetryEvery);
  }
  // Best effort: the pid only makes the message of a refused second instance more helpful.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return InstanceLock(fd, std::move(path));
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace vtrace
