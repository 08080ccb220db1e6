// Header-safe message building: the only place mail headers are written.
#include "responder/mail/mail_message.hpp"

#include <array>
#include <cstdint>

#include "common/text.hpp"

namespace vtrace::responder {
namespace {

// C1 controls (U+0080..U+009F) are as unwelcome in a header as C0 controls.
bool is_c1_control(std::string_view text, std::size_t i, std::size_t n) {
  return n == 2 && static_cast<unsigned char>(text[i]) == 0xC2 &&
         static_cast<unsigned char>(text[i + 1]) < 0xA0;
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    const std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                            (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    const std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const std::uint32_t v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      out += '?';
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string header_text(std::string_view raw, std::size_t max_bytes) {
  const std::string text = valid_utf8(raw);
  std::string out;
  bool pending_space = false;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    const auto b = static_cast<unsigned char>(text[i]);
    const bool space = (n == 1 && (b < 0x20 || b == 0x7F || b == ' ')) || is_c1_control(text, i, n);
    if (space) {
      pending_space = !out.empty();
      i += n;
      continue;
    }
    const std::size_t extra = pending_space ? 1 : 0;
    if (out.size() + extra + n > max_bytes) break;
    if (pending_space) out += ' ';
    pending_space = false;
    out.append(text, i, n);
    i += n;
  }
  return out;
}

std::string encode_header_value(std::string_view raw) {
  const std::string text = header_text(raw, 200);
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  // An ASCII value that merely looks like an encoded word would be decoded by readers; encode it
  // too, so what the reader sees is what the attacker wrote.
  if (ascii && text.find("=?") == std::string::npos) return text;
  // "=?UTF-8?B?" + base64 + "?=" within 75 characters: at most 45 bytes of text per word.
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = i;
    while (end < text.size()) {
      const std::size_t n = utf8_length(text, end);
      if (end - i + n > 45) break;
      end += n;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(text).substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string body_text(std::string_view raw) {
  const std::string text = valid_utf8(raw);
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF: the LF ends the line
      out += "\r\n";
      line = 0;
      continue;
    }
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    // Split before a character that would take the line past 998 bytes.
    if (line >= 990 && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      out += "\r\n";
      line = 0;
    }
    out += c;
    ++line;
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string rfc5322_date(TimePoint t) {
  static constexpr std::array<const char*, 7> kDays = {"Thu", "Fri", "Sat", "Sun",
                                                       "Mon", "Tue", "Wed"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::int64_t secs = t / kMicrosPerSecond;
  if (t < 0 && t % kMicrosPerSecond != 0) --secs;
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int weekday = static_cast<int>(((days % 7) + 7) % 7);
  // Civil from days (Howard Hinnant).
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02d:%02d:%02d +0000", kDays[weekday], d,
                kMonths[m - 1], static_cast<long long>(y), static_cast<int>(rem / 3600),
                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

std::string build_message(const OutgoingMail& mail) {
  std::string to;
  for (const auto& r : mail.to) to += (to.empty() ? "" : ", ") + header_text(r, 254);
  std::string out;
  out += "From: " + header_text(mail.from, 254) + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + encode_header_value(mail.subject) + "\r\n";
  out += "Date: " + rfc5322_date(mail.date) + "\r\n";
  out += "Message-ID: <" + header_text(mail.message_id, 200) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  // RFC 3834: automatic mail; well-behaved auto-responders do not answer it.
  out += "Auto-Submitted: auto-generated\r\n";
  if (!mail.incident_id.empty()) {
    out += "X-Vtrace-Incident: " + header_text(mail.incident_id, 128) + "\r\n";
  }
  out += "\r\n";
  out += body_text(mail.body);
  return out;
}

}  // namespace vtrace::responder
