// STUB: replaced by the real implementation.
#include "module/parser_registry.hpp"

namespace vtrace {
namespace {
class StubParser final : public LogParser {
 public:
  std::string_view name() const override { return "exim"; }
  bool accepts_program(std::string_view) const override { return false; }
  ParseStatus parse(const LogLine&, ParsedRecord&) const override { return ParseStatus::kNotMine; }
};
}  // namespace
std::unique_ptr<LogParser> make_exim_parser() { return std::make_unique<StubParser>(); }
}  // namespace vtrace
