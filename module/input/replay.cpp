// File reading (zlib handles plain and gzip alike), format sniffing and the k-way time merge.
#include "module/input/replay.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <ostream>
#include <queue>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "module/input/syslog_envelope.hpp"
#include "module/parsers/isvw_assembler.hpp"

namespace vtrace {

ReplayInput parse_replay_argument(const std::string& argument) {
  const auto eq = argument.find('=');
  const auto slash = argument.find('/');
  if (eq == std::string::npos || eq == 0 || (slash != std::string::npos && slash < eq)) {
    return {"", argument};
  }
  return {argument.substr(0, eq), argument.substr(eq + 1)};
}

namespace {

enum class FileKind { kUnknown, kSyslog, kEximMainlog, kIsvw };

// True when the gzip stream ended in an error. gzread ends a truncated stream like a complete
// one (the file may still be growing); gzerror tells them apart.
bool gzip_failed(gzFile file) {
  int status = Z_OK;
  gzerror(file, &status);
  return status != Z_OK;
}

// The CPUs this process may run on (taskset, cgroup cpusets).
int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

// Inflates a gzip stream on a thread of its own, a few chunks ahead of the reader, so that a
// compressed archive costs the reading thread about what a plain file does (zlib is a third
// of the work otherwise). Bounded: at most kChunks chunks of kChunkSize wait.
class Inflater {
 public:
  explicit Inflater(gzFile file) : file_(file), thread_([this] { run(); }) {}
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
    gzclose(file_);
  }

  // Copies up to `room` inflated bytes into `into`: how many, 0 at the end of the data, -1
  // when the data is corrupt or unreadable from there on.
  long read(char* into, std::size_t room) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !chunks_.empty() || done_; });
    if (chunks_.empty()) return failed_ ? -1 : 0;
    const std::string& chunk = chunks_.front();
    const std::size_t n = std::min(room, chunk.size() - front_used_);
    std::memcpy(into, chunk.data() + front_used_, n);
    front_used_ += n;
    if (front_used_ == chunk.size()) {
      chunks_.pop_front();
      front_used_ = 0;
      lock.unlock();
      changed_.notify_all();
    }
    return static_cast<long>(n);
  }

 private:
  static constexpr std::size_t kChunkSize = 1 << 16;
  static constexpr std::size_t kChunks = 3;

  void run() {
    while (true) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return chunks_.size() < kChunks || stop_; });
        if (stop_) return;
      }
      std::string chunk;
      int n = 0;
      chunk.resize_and_overwrite(kChunkSize, [&](char* data, std::size_t size) {
        n = gzread(file_, data, static_cast<unsigned>(size));
        return n > 0 ? static_cast<std::size_t>(n) : 0;
      });
      {
        std::lock_guard lock(mutex_);
        if (n > 0) {
          chunks_.push_back(std::move(chunk));
        } else {
          done_ = true;
          failed_ = n < 0 || gzip_failed(file_);
        }
      }
      changed_.notify_all();
      if (n <= 0) return;
    }
  }

  gzFile file_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> chunks_;  // inflated, not yet read
  std::size_t front_used_ = 0;      // bytes of chunks_.front() already read
  bool done_ = false;
  bool failed_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// One input file: buffered line reading and decoding of its current line.
class FileReader {
 public:
  FileReader(ReplayInput input, std::optional<SourceIndex> source, int year, std::string zone,
             TimePoint reference)
      : input_(std::move(input)), source_(source), decoder_(year, zone, reference), zone_(zone) {}

  ~FileReader() {
    if (file_ != nullptr) {
      gzclose(file_);
    } else if (!inflater_ && fd_ >= 0) {
      ::close(fd_);  // else the inflater's gzclose closes it
    }
  }

  bool open(std::string& error) {
    fd_ = ::open(input_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      error = input_.path + ": " + std::strerror(errno);
      return false;
    }
    // Plain files are read straight into the line buffer: zlib's transparent mode would copy
    // every byte once more. Gzip data, and input that cannot be peeked at (a pipe), go
    // through zlib.
    unsigned char magic[2] = {};
    const bool plain =
        ::pread(fd_, magic, sizeof magic, 0) == 2 && !(magic[0] == 0x1f && magic[1] == 0x8b);
    if (!plain) {
      gzFile file = gzdopen(fd_, "rb");
      if (file == nullptr) {
        error = input_.path + ": " + std::strerror(errno);
        return false;
      }
      gzbuffer(file, 1 << 17);
      // Inflating ahead pays only where another CPU can do it: on one CPU the hand-over
      // between the threads costs more than it saves.
      if (usable_cpus() > 1) {
        inflater_ = std::make_unique<Inflater>(file);
      } else {
        file_ = file;
      }
    }
    buffer_.resize(1 << 16);  // grows for longer lines
    return true;
  }

  // Moves to the next decodable line. Returns false at end of file.
  bool next(ReplaySummary& summary, Correlator& correlator) {
    std::string_view text;
    while (read_line(text, summary)) {
      ++summary.lines;
      if (text.empty()) {
        if (kind_ == FileKind::kIsvw) {
          line_ = LogLine{};
          line_.raw = line_.message = text;
          line_.program = "isvw";
          line_.time = block_time_;
          return true;
        }
        continue;
      }
      if (kind_ == FileKind::kUnknown) sniff(text);
      if (decode(text)) return true;
      ++summary.undecodable;
      correlator.count_undecodable();
    }
    return false;
  }

  const LogLine& line() const { return line_; }
  std::optional<SourceIndex> source() const { return source_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void sniff(std::string_view text) {
    LogLine probe;
    SyslogEnvelopeDecoder probe_decoder(2000, "UTC", 0);
    if (IsvwAssembler::looks_like_isvw(text)) {
      kind_ = FileKind::kIsvw;
    } else if (probe_decoder.decode(text, probe)) {
      kind_ = FileKind::kSyslog;
    } else if (probe_decoder.decode_exim_mainlog(text, "probe", probe)) {
      kind_ = FileKind::kEximMainlog;
    }
  }

  bool decode(std::string_view text) {
    switch (kind_) {
      case FileKind::kSyslog:
        return decoder_.decode(text, line_);
      case FileKind::kEximMainlog:
        return source_ && decoder_.decode_exim_mainlog(text, input_.source, line_);
      case FileKind::kIsvw: {
        if (!source_) return false;
        if (text.substr(0, 6) == "Date: ") {
          if (auto t = IsvwAssembler::parse_date(text.substr(6), zone_)) block_time_ = *t;
        }
        line_ = LogLine{};
        line_.raw = line_.message = text;
        line_.program = "isvw";
        line_.hostname = input_.source;
        line_.time = block_time_;
        return true;
      }
      case FileKind::kUnknown:
        return false;
    }
    return false;
  }

  // Each byte is searched for a line end once, however many reads a long line takes
  // (`scanned_`), and a line over kMaxReplayLineBytes is dropped as it streams by, so time is
  // linear in the input and memory bounded by the limit.
  bool read_line(std::string_view& out, ReplaySummary& summary) {
    while (true) {
      const char* begin = buffer_.data() + pos_;
      const char* from = buffer_.data() + std::max(pos_, scanned_);
      const char* end = buffer_.data() + len_;
      if (const void* nl = std::memchr(from, '\n', static_cast<std::size_t>(end - from))) {
        const char* e = static_cast<const char*>(nl);
        pos_ = static_cast<std::size_t>(e - buffer_.data()) + 1;
        scanned_ = pos_;
        if (std::exchange(oversized_, false)) continue;  // the end of a line already counted
        out = std::string_view(begin, static_cast<std::size_t>(e - begin));
        if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
        return true;
      }
      scanned_ = len_;
      if (len_ - pos_ > kMaxReplayLineBytes) {
        if (!oversized_) ++summary.oversized;
        oversized_ = true;
        pos_ = scanned_ = len_;
      }
      if (eof_) {
        if (pos_ < len_ && !oversized_) {
          out = std::string_view(begin, len_ - pos_);
          pos_ = len_;
          return true;
        }
        return false;
      }
      // Keep the partial line; grow the buffer for lines longer than it.
      std::memmove(buffer_.data(), begin, len_ - pos_);
      len_ -= pos_;
      scanned_ -= pos_;
      pos_ = 0;
      if (len_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
      const std::size_t room = buffer_.size() - len_;
      const long n = inflater_ ? inflater_->read(buffer_.data() + len_, room)
                     : file_ != nullptr
                         ? gzread(file_, buffer_.data() + len_, static_cast<unsigned>(room))
                         : read_some(buffer_.data() + len_, room);
      if (n <= 0) {
        eof_ = true;
        const bool gzip = inflater_ || file_ != nullptr;
        if (n < 0 || (file_ != nullptr && gzip_failed(file_))) {
          summary.errors.push_back(input_.path + ": unreadable after " + std::to_string(bytes_) +
                                   " bytes" + (gzip ? " (corrupt or truncated gzip data)" : ""));
        }
      } else {
        len_ += static_cast<std::size_t>(n);
        bytes_ += static_cast<std::uint64_t>(n);
        summary.bytes += static_cast<std::uint64_t>(n);
      }
    }
  }

  long read_some(char* into, std::size_t room) {
    while (true) {
      const ssize_t n = ::read(fd_, into, room);
      if (n >= 0 || errno != EINTR) return static_cast<long>(n);
    }
  }

  ReplayInput input_;
  std::optional<SourceIndex> source_;
  SyslogEnvelopeDecoder decoder_;
  LocalTimeResolver zone_;
  int fd_ = -1;
  std::unique_ptr<Inflater> inflater_;  // gzip input on a multi-CPU host; owns fd_ when set
  gzFile file_ = nullptr;               // gzip input on one CPU; owns fd_ when set
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
  std::size_t scanned_ = 0;  // no line end in [pos_, scanned_)
  bool oversized_ = false;   // dropping the rest of a line over the limit
  bool eof_ = false;
  std::uint64_t bytes_ = 0;
  FileKind kind_ = FileKind::kUnknown;
  LogLine line_;
  TimePoint block_time_ = 0;
};

struct HeapItem {
  TimePoint time;
  std::size_t reader;
  bool operator>(const HeapItem& o) const {
    return time != o.time ? time > o.time : reader > o.reader;
  }
  bool operator<(const HeapItem& o) const { return o > *this; }
};

}  // namespace

ReplaySummary run_replay(Correlator& correlator, const std::vector<ReplayInput>& inputs,
                         const ReplayOptions& options, std::ostream& progress_out) {
  ReplaySummary summary;
  std::vector<std::unique_ptr<FileReader>> readers;
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<>> heap;
  // Lines of the same time are taken file by file in the heap's tie-break order (the reader's
  // index): the files are sorted first, so the output does not depend on the order of the
  // arguments.
  std::vector<ReplayInput> sorted_inputs = inputs;
  std::sort(sorted_inputs.begin(), sorted_inputs.end(), [](const auto& a, const auto& b) {
    return std::tie(a.path, a.source) < std::tie(b.path, b.source);
  });
  for (const auto& input : sorted_inputs) {
    std::optional<SourceIndex> source;
    std::string zone = options.timezone;
    if (!input.source.empty()) {
      source = correlator.topology().by_name(input.source);
      if (!source) {
        summary.errors.push_back(input.path + ": '" + input.source +
                                 "' is not a configured source");
        continue;
      }
      if (zone.empty()) zone = correlator.topology().source(*source).timezone;
    }
    auto reader =
        std::make_unique<FileReader>(input, source, options.year, zone, options.reference_time);
    std::string error;
    if (!reader->open(error)) {
      summary.errors.push_back(error);
      continue;
    }
    ++summary.files;
    if (reader->next(summary, correlator)) {
      heap.push({reader->line().time, readers.size()});
    }
    readers.push_back(std::move(reader));
  }

  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  TimePoint last_advance = 0;
  std::uint64_t fed = 0;
  std::uint64_t reported = 0;
  while (!heap.empty()) {
    const HeapItem item = heap.top();
    heap.pop();
    FileReader& reader = *readers[item.reader];
    // Stay with this file while its lines come no later than every other file's next line:
    // the merge order is the same, without a heap operation per line.
    bool more = true;
    do {
      const TimePoint t = reader.line().time;
      if (reader.source()) {
        correlator.ingest(*reader.source(), reader.line());
      } else {
        correlator.ingest_untrusted(reader.line());
      }
      if (t > last_advance + 250'000) {
        correlator.advance(t);
        last_advance = t;
      }
      more = reader.next(summary, correlator);
      ++fed;
    } while (more && (heap.empty() || HeapItem{reader.line().time, item.reader} < heap.top()));
    if (more) heap.push({reader.line().time, item.reader});
    if (options.progress && fed - reported >= 65536) {
      reported = fed;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report > std::chrono::milliseconds(500)) {
        last_report = now;
        const double secs = std::chrono::duration<double>(now - started).count();
        progress_out << "\r" << summary.lines << " lines, "
                     << static_cast<std::uint64_t>(summary.lines / (secs > 0 ? secs : 1))
                     << " lines/s, " << correlator.pending() << " pending   " << std::flush;
      }
    }
  }
  if (options.progress) progress_out << "\r" << std::string(60, ' ') << "\r" << std::flush;
  correlator.finish();
  return summary;
}

void ArchiveSearcher::operator()(SourceIndex source, TimePoint from, TimePoint to,
                                 Correlator& correlator) {
  for (const auto& [s, f, t] : done_) {
    if (s == source && f <= from && t >= to) return;
  }
  if (done_.size() > 1024) done_.erase(done_.begin());
  done_.emplace_back(source, from, to);
  const auto& settings = correlator.topology().source(source);
  std::string zone = options_.timezone.empty() ? settings.timezone : options_.timezone;
  ReplaySummary summary;
  for (const auto& pattern : settings.archive) {
    glob_t matches{};
    if (::glob(pattern.c_str(), 0, nullptr, &matches) != 0) {
      globfree(&matches);
      continue;
    }
    for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
      const std::string path = matches.gl_pathv[i];
      // A file last written before the range cannot hold it.
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 ||
          static_cast<TimePoint>(st.st_mtime) * kMicrosPerSecond < from) {
        continue;
      }
      FileReader reader({settings.name, path}, source, options_.year, zone,
                        options_.reference_time);
      std::string error;
      if (!reader.open(error)) continue;
      while (reader.next(summary, correlator)) {
        const LogLine& line = reader.line();
        // A collector's combined archive holds other hosts' lines too: take this source's.
        const bool ours = line.hostname == settings.name ||
                          correlator.topology().by_hostname(line.hostname) == source;
        if (ours && line.time >= from && line.time <= to) {
          correlator.ingest_archive(source, line);
        }
      }
    }
    globfree(&matches);
  }
  lines_read_ += summary.lines;
}

void print_summary(std::ostream& out, const ReplaySummary& summary, const Correlator& correlator,
                   double seconds) {
  const auto& s = correlator.stats();
  out << "replayed " << summary.files << " files, " << summary.lines << " lines (" << summary.bytes
      << " bytes) in " << seconds << " s";
  if (seconds > 0)
    out << " = " << static_cast<std::uint64_t>(summary.lines / seconds) << " lines/s";
  out << "\n";
  for (const auto& e : summary.errors) out << "  error: " << e << "\n";
  out << "records by format:";
  for (const auto& [format, n] : s.records_by_format) out << " " << format << "=" << n;
  out << "\nskipped lines: undecodable=" << summary.undecodable
      << " oversized=" << summary.oversized << " untrusted-host=" << s.untrusted
      << " unrecognised-program=" << s.unrecognised << " noise=" << s.ignored;
  for (const auto& [format, n] : s.malformed_by_format) out << " malformed-" << format << "=" << n;
  out << "\ndetections: " << s.detections << " lines, " << s.detections_merged
      << " merged as companions, " << s.echoes_suppressed << " relay echoes suppressed, "
      << s.backscatter_merged << " bounces of reported mails merged\n";
  if (s.uncorroborated > 0) {
    out << "uncorroborated detections (no record of the message on the detecting host; not "
           "reported as incidents): "
        << s.uncorroborated << "\n";
    for (const auto& line : correlator.uncorroborated_samples()) out << "  " << line << "\n";
  }
  out << "incidents: exact=" << s.incidents[0] << " fuzzy=" << s.incidents[1]
      << " ambiguous=" << s.incidents[2] << " unresolved=" << s.incidents[3] << "\n";
  if (const auto& d = correlator.direct_smtp_stats(); d.connections > 0 || d.not_firewall > 0) {
    out << "direct smtp: " << d.connections << " connections, " << d.incidents << " incidents, "
        << d.revisions << " revisions; skipped: other-port=" << d.other_ports
        << " not-watched=" << d.not_watched << " exempt=" << d.exempt
        << " retransmission=" << d.retransmissions << " unreadable=" << d.unreadable
        << " not-firewall=" << d.not_firewall << "; dropped: hosts=" << d.hosts_dropped
        << " attempts=" << d.attempts_dropped << " destinations=" << d.destinations_dropped << "\n";
  }
  if (s.pending_dropped > 0 || s.wake_index_full > 0) {
    out << "held detections: " << s.pending_dropped << " traced early (queue full), "
        << s.wake_index_full << " re-checked at every change (wake index full)\n";
  }
  const auto& is = correlator.index().stats();
  out << "index: " << correlator.index().size() << " messages held, " << is.records_created
      << " created, " << is.evicted_by_age << " evicted by age, " << is.evicted_by_capacity
      << " by capacity\n";
  const auto memory = correlator.index().memory();
  const std::size_t held = correlator.index().size();
  out << "index memory: " << memory.total() << " bytes";
  if (held > 0) out << " = " << memory.total() / held << " B per message held";
  out << " (records " << memory.records << ", overflow " << memory.extras << ", lookup table "
      << memory.table << ", client names " << memory.names << ", message-ids " << memory.message_ids
      << ")\n";
}

}  // namespace vtrace
