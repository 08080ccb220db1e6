#include "module/input/reread_filter.hpp"

#include <random>
#include <string>

namespace vtrace {

namespace {

// FNV-1a over the key and then each part with a separator byte, finished with a 64-bit mixer
// (splitmix64's), so that the key changes every output bit.
std::uint64_t keyed_hash(std::uint64_t key, std::string_view filename, std::string_view offset,
                         std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ key;
  auto mix = [&h](std::string_view part) {
    for (const unsigned char c : part) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;  // a byte that is no part's last: "ab"+"c" differs from "a"+"bc"
    h *= 0x100000001b3ULL;
  };
  mix(filename);
  mix(offset);
  mix(text);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::uint64_t random_key() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

RereadFilter::RereadFilter(std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity), key_a_(random_key()), key_b_(random_key()) {}

RereadFilter::Identity RereadFilter::identity(std::string_view filename, std::string_view offset,
                                              std::string_view text) const {
  return {keyed_hash(key_a_, filename, offset, text), keyed_hash(key_b_, filename, offset, text)};
}

bool RereadFilter::seen(std::string_view filename, std::string_view offset,
                        std::string_view text) const {
  if (offset.empty()) return false;
  return identities_.contains(identity(filename, offset, text));
}

void RereadFilter::remember(std::string_view filename, std::string_view offset,
                            std::string_view text) {
  if (offset.empty()) return;
  const Identity id = identity(filename, offset, text);
  if (!identities_.insert(id).second) return;
  order_.push_back(id);
  if (order_.size() > capacity_) {
    identities_.erase(order_.front());
    order_.pop_front();
    ++evicted_;
  }
}

void RereadFilter::clear() {
  identities_.clear();
  order_.clear();
}

}  // namespace vtrace
