// Lines a file input reads a second time. rsyslog's imfile remembers how far it has read a file
// in a state file that it writes on shutdown (or every persistStateInterval lines); after
// rsyslogd dies without writing it, imfile reads the file again from the last saved position,
// and lines the correlator has already journalled and traced arrive as new ones. For a detection
// without queue id or Message-ID (an InterScan VirusWall record) that would be a second
// incident. The identity of a line read from a file is where it is: the file's name, its offset
// in the file (imfile's addMetadata="on": $!metadata!filename, $!metadata!fileoffset) and its
// text. A repeated virus mail logged twice is two records at two offsets, so it stays two.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_set>

namespace vtrace {

class RereadFilter {
 public:
  // At most `capacity` identities are kept, the oldest forgotten first (counted in evicted()).
  // Lines a file input sends are rare in a mail log feed (the ISVW virus log holds only
  // detections); the default holds months of them.
  explicit RereadFilter(std::size_t capacity = 200'000);

  // True when a line read from `filename` at `offset` with this `text` was remembered before.
  // A line without a position (every network or socket input) is never a re-read.
  bool seen(std::string_view filename, std::string_view offset, std::string_view text) const;
  // Remembers a journalled line's identity (no-op without a position).
  void remember(std::string_view filename, std::string_view offset, std::string_view text);
  void clear();

  std::size_t size() const { return order_.size(); }
  std::uint64_t evicted() const { return evicted_; }

 private:
  // 128 bits of two hashes keyed per process: the text is attacker-written (a forged sender, a
  // file name), and a collision must not be computable in advance to hide a later record. The
  // set is rebuilt from the journal at every start, so new keys cost nothing.
  struct Identity {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    bool operator==(const Identity&) const = default;
  };
  struct IdentityHash {
    std::size_t operator()(const Identity& id) const { return static_cast<std::size_t>(id.a); }
  };
  Identity identity(std::string_view filename, std::string_view offset,
                    std::string_view text) const;

  std::size_t capacity_;
  std::uint64_t key_a_;
  std::uint64_t key_b_;
  std::unordered_set<Identity, IdentityHash> identities_;
  std::deque<Identity> order_;
  std::uint64_t evicted_ = 0;
};

}  // namespace vtrace
