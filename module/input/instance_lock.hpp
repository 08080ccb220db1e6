// One live correlator per state directory. rsyslog starts the correlator itself; its omprog
// action runs one process per queue worker, so a configuration with a second worker (a memory
// queue with a disk part, queue.workerThreads > 1), or a correlator started by hand next to
// rsyslog's, would otherwise have two processes appending to one journal and one outbox.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace vtrace {

class InstanceLock {
 public:
  // Takes an exclusive flock(2) on `<directory>/correlator.lock`, trying again every 50 ms for
  // up to `wait`: a predecessor that rsyslog has just killed (after a confirm timeout) may
  // still be exiting. Returns nullopt and sets `error` (naming the holder's pid when it is
  // known) if the lock is held for longer, or cannot be taken at all. The lock goes with the
  // process (exit, crash or kill), so it never has to be cleaned up.
  static std::optional<InstanceLock> acquire(const std::string& directory,
                                             std::chrono::milliseconds wait, std::string& error);
  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&&) = delete;
  ~InstanceLock();

  const std::string& path() const { return path_; }

 private:
  InstanceLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace vtrace
