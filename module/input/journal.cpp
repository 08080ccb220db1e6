// The journal's segment files.
#include "module/input/journal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

namespace vtrace {

namespace {

// A new journal segment after this long or this size, so that pruning (a whole segment at a
// time) keeps the journal close to the window.
constexpr TimePoint kSegmentSpan = 300'000'000;
constexpr off_t kSegmentBytes = 64 << 20;

}  // namespace

Journal::Journal(Journal&& other) noexcept
    : dir_(std::move(other.dir_)),
      segments_(std::move(other.segments_)),
      fd_(std::exchange(other.fd_, -1)),
      map_(std::exchange(other.map_, nullptr)),
      capacity_(other.capacity_),
      used_(other.used_),
      opened_at_(other.opened_at_),
      pending_(std::move(other.pending_)),
      pending_lines_(other.pending_lines_),
      pending_newest_(other.pending_newest_),
      lines_(other.lines_),
      confirmed_fd_(std::exchange(other.confirmed_fd_, -1)),
      confirmed_(std::exchange(other.confirmed_, nullptr)),
      unconfirmed_(std::move(other.unconfirmed_)) {}

Journal::~Journal() {
  close_segment();
  if (confirmed_ != nullptr) ::munmap(confirmed_, sizeof(ConfirmedMark));
  if (confirmed_fd_ >= 0) ::close(confirmed_fd_);
}

std::optional<Journal> Journal::open(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    error = dir + ": " + std::strerror(errno);
    return std::nullopt;
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    error = dir + ": " + std::strerror(errno);
    return std::nullopt;
  }
  Journal journal(dir);
  constexpr std::string_view kSuffix = ".journal";
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() != 20 + kSuffix.size() || !name.ends_with(kSuffix)) continue;
    Segment segment;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + 20, segment.number);
    if (ec == std::errc() && end == name.data() + 20) journal.segments_.push_back(segment);
  }
  ::closedir(d);
  std::sort(journal.segments_.begin(), journal.segments_.end(),
            [](const Segment& a, const Segment& b) { return a.number < b.number; });
  const std::string mark = dir + "/confirmed";
  journal.confirmed_fd_ = ::open(mark.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  void* map = MAP_FAILED;
  if (journal.confirmed_fd_ >= 0 &&
      ::ftruncate(journal.confirmed_fd_, sizeof(ConfirmedMark)) == 0) {
    map = ::mmap(nullptr, sizeof(ConfirmedMark), PROT_READ | PROT_WRITE, MAP_SHARED,
                 journal.confirmed_fd_, 0);
  }
  if (map == MAP_FAILED) {
    error = mark + ": " + std::strerror(errno);
    return std::nullopt;
  }
  journal.confirmed_ = static_cast<ConfirmedMark*>(map);
  return journal;
}

void Journal::mark_confirmed() {
  if (segments_.empty() || fd_ < 0) return;
  // Two stores into the page cache; a process killed between them leaves a segment number
  // with the previous offset, which only makes more lines look unconfirmed than are.
  confirmed_->segment = segments_.back().number;
  confirmed_->offset = used_;
}

std::string Journal::path(std::uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.journal", static_cast<unsigned long long>(number));
  return dir_ + "/" + name;
}

void Journal::close_segment() {
  if (map_ != nullptr) {
    ::munmap(map_, capacity_);
    map_ = nullptr;
    // The allocated tail is given back; a segment of a process that died keeps its zeros,
    // which for_each() stops at.
    if (::ftruncate(fd_, static_cast<off_t>(used_)) != 0) {
      // Harmless: the zeros stay until the segment is pruned.
    }
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  capacity_ = used_ = 0;
}

bool Journal::open_segment(std::size_t at_least) {
  // A new segment: the one written before (by this process or by one that died while
  // writing) is never appended to again, so a torn line can only be a segment's last.
  Segment segment;
  segment.number = segments_.empty() ? 1 : segments_.back().number + 1;
  segment.newest_known = true;
  fd_ =
      ::open(path(segment.number).c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return false;
  segments_.push_back(segment);
  opened_at_ = 0;
  used_ = 0;
  const std::size_t capacity = std::max<std::size_t>(kSegmentBytes, at_least);
  // Allocating the blocks first means a full disk fails here, not later as a SIGBUS on a page
  // of the mapping.
  int allocated;
  // The live loop's tick signal can interrupt the allocation; it is simply tried again.
  while ((allocated = ::posix_fallocate(fd_, 0, static_cast<off_t>(capacity))) == EINTR) {
  }
  if (allocated == 0) {
    void* map = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (map != MAP_FAILED) {
      map_ = static_cast<char*>(map);
      capacity_ = capacity;
      return true;
    }
    if (::ftruncate(fd_, 0) != 0) return false;
  }
  return true;
}

bool Journal::write_pending() {
  if (map_ != nullptr) {
    std::memcpy(map_ + used_, pending_.data(), pending_.size());
    used_ += pending_.size();
    return true;
  }
  std::size_t written = 0;
  while (written < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  used_ += written;
  return true;
}

void Journal::add(TimePoint time, std::string_view line) {
  constexpr std::size_t kMaxDigits = 20;
  const std::size_t at = pending_.size();
  pending_.resize_and_overwrite(at + kMaxDigits + line.size() + 2, [&](char* p, std::size_t) {
    char* out = p + at;
    if (time >= kMicrosPerSecond) {
      // Consecutive lines mostly fall in the same second: its digits are formatted once, the
      // six digits of the microseconds every time.
      const TimePoint second = time / kMicrosPerSecond;
      if (second != second_) {
        second_ = second;
        second_size_ = static_cast<std::size_t>(
            std::to_chars(second_digits_, second_digits_ + sizeof second_digits_, second).ptr -
            second_digits_);
      }
      out = std::copy_n(second_digits_, second_size_, out);
      auto micros = static_cast<unsigned>(time % kMicrosPerSecond);
      for (int i = 5; i >= 0; --i) {
        out[i] = static_cast<char>('0' + micros % 10);
        micros /= 10;
      }
      out += 6;
    } else {
      out = std::to_chars(out, out + kMaxDigits, time).ptr;
    }
    *out++ = '\t';
    out = std::copy_n(line.data(), line.size(), out);
    *out++ = '\n';
    return static_cast<std::size_t>(out - p);
  });
  pending_newest_ = pending_lines_ == 0 ? time : std::max(pending_newest_, time);
  ++pending_lines_;
}

bool Journal::flush() {
  if (pending_lines_ == 0) return true;
  if (fd_ >= 0 && map_ != nullptr && used_ + pending_.size() > capacity_) close_segment();
  if (fd_ < 0 && !open_segment(pending_.size())) return false;
  if (!write_pending()) {
    close_segment();
    return false;
  }
  Segment& current = segments_.back();
  current.newest = current.lines == 0 ? pending_newest_ : std::max(current.newest, pending_newest_);
  current.lines += pending_lines_;
  lines_ += pending_lines_;
  pending_.clear();
  pending_lines_ = 0;
  return true;
}

void Journal::for_each(const std::function<void(TimePoint, std::string_view)>& fn) {
  std::int64_t total = 0;
  std::string data;
  unconfirmed_.clear();
  const ConfirmedMark confirmed = *confirmed_;
  for (Segment& segment : segments_) {
    data.clear();
    const int fd = ::open(path(segment.number).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    char chunk[1 << 16];
    bool zero_tail = false;
    for (ssize_t n; (n = ::read(fd, chunk, sizeof chunk)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      // The allocated, never written tail of a segment whose process died.
      const auto* zero = static_cast<const char*>(std::memchr(chunk, '\0', n));
      data.append(chunk, zero != nullptr ? zero - chunk : static_cast<std::size_t>(n));
      if (zero != nullptr) {
        zero_tail = true;
        break;
      }
    }
    // The open segment (a reload replays the journal while it is written) keeps its
    // allocated tail: the mapping writes into it.
    const bool open_segment = fd_ >= 0 && &segment == &segments_.back();
    if (zero_tail && !open_segment) {
      // Never appended to again: its allocated tail (up to 64 MiB) and a torn last line go,
      // so the directory holds what the journal holds, however often the process was killed.
      const std::size_t last = data.rfind('\n');
      const std::size_t whole = last == std::string::npos ? 0 : last + 1;
      if (::ftruncate(fd, static_cast<off_t>(whole)) == 0) data.resize(whole);
    }
    ::close(fd);
    std::int64_t lines = 0;
    TimePoint newest = 0;
    std::string_view rest = data;
    for (std::size_t nl; (nl = rest.find('\n')) != std::string_view::npos;
         rest.remove_prefix(nl + 1)) {
      const std::string_view record = rest.substr(0, nl);
      // Lines written after the last batch rsyslog had its OK for: it sends them again.
      const std::size_t end_offset = static_cast<std::size_t>(rest.data() - data.data()) + nl + 1;
      const bool unconfirmed =
          confirmed.segment != 0 &&
          (segment.number > confirmed.segment ||
           (segment.number == confirmed.segment && end_offset > confirmed.offset));
      const auto tab = record.find('\t');
      TimePoint t = 0;
      if (tab == std::string_view::npos ||
          std::from_chars(record.data(), record.data() + tab, t).ec != std::errc()) {
        continue;
      }
      fn(t, record.substr(tab + 1));
      if (unconfirmed && unconfirmed_.size() < kMaxUnconfirmed) {
        unconfirmed_.emplace_back(record.substr(tab + 1));
      }
      newest = lines == 0 ? t : std::max(newest, t);
      ++lines;
    }
    segment.lines = lines;
    segment.newest = newest;
    segment.newest_known = true;
    total += lines;
  }
  lines_ = total;
}

void Journal::prune(TimePoint cutoff, TimePoint now) {
  if (fd_ >= 0) {
    if (opened_at_ == 0) opened_at_ = now;
    if (segments_.back().lines > 0 &&
        (now - opened_at_ >= kSegmentSpan || used_ >= static_cast<std::size_t>(kSegmentBytes))) {
      close_segment();
    }
  }
  // The open segment stays whatever its age: the next batch is appended to it.
  const std::size_t closed = fd_ >= 0 ? segments_.size() - 1 : segments_.size();
  std::size_t gone = 0;
  while (gone < closed && segments_[gone].newest_known && segments_[gone].newest < cutoff) {
    ::unlink(path(segments_[gone].number).c_str());
    lines_ -= segments_[gone].lines;
    ++gone;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(gone));
}

}  // namespace vtrace
