// Parsing pipeline strings and running them with a verifier run after every pass.
#include "passes/Pipeline.h"

#include "ir/Verifier.h"
#include "passes/PassRegistry.h"

namespace tessera::passes {

static std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

StatusOr<Pipeline> Pipeline::parse(std::string_view spec) {
  Pipeline p;
  if (trim(spec).empty()) return p;
  size_t start = 0;
  while (true) {
    size_t comma = spec.find(',', start);
    std::string_view name = trim(spec.substr(start, comma == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : comma - start));
    if (name.empty())
      return Status::error("empty pass name in pipeline '" + std::string(spec) +
                           "' (known passes: " + knownPassNames() + ")");
    const PassInfo* info = findPass(name);
    if (!info)
      return Status::error("unknown pass '" + std::string(name) + "' in pipeline '" +
                           std::string(spec) + "' (known passes: " + knownPassNames() + ")");
    p.passes_.push_back(info->create());
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return p;
}

std::vector<std::string> Pipeline::names() const {
  std::vector<std::string> out;
  for (const auto& p : passes_) out.emplace_back(p->name());
  return out;
}

StatusOr<bool> Pipeline::run(ir::Module& m) const {
  bool changed = false;
  for (const auto& pass : passes_) {
    std::string name(pass->name());
    StatusOr<bool> r = pass->run(m);
    if (!r.isOk()) return withNote(r.status(), "note: while running pass '" + name + "'");
    changed |= *r;
    if (name == "verify") continue;  // it just did
    Status v = ir::verifyModule(m);
    if (!v.isOk())
      return withNote(v, "note: the module does not verify after pass '" + name +
                             "' (it did before: this is a bug in the pass)");
  }
  return changed;
}

Status withNote(const Status& s, const std::string& note) {
  // Status keeps only its formatted message, `loc: error: text` or `error: text`; rebuild it
  // from the parts so the location stays first.
  const std::string& msg = s.message();
  const std::string marker = "error: ";
  if (msg.rfind(marker, 0) == 0) return Status::error(msg.substr(marker.size()) + "\n" + note);
  size_t at = msg.find(": " + marker);
  if (at == std::string::npos) return Status::error(msg + "\n" + note);
  std::string loc = msg.substr(0, at);
  std::string text = msg.substr(at + 2 + marker.size()) + "\n" + note;
  Location l;
  // loc is "file:line:col" or "file"; the file name itself may contain ':'.
  size_t c2 = loc.rfind(':');
  size_t c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : loc.rfind(':', c2 - 1);
  auto isNum = [](const std::string& t) {
    return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos && t.size() < 9;
  };
  if (c1 != std::string::npos && isNum(loc.substr(c1 + 1, c2 - c1 - 1)) &&
      isNum(loc.substr(c2 + 1))) {
    l = Location{loc.substr(0, c1), std::stoi(loc.substr(c1 + 1, c2 - c1 - 1)),
                 std::stoi(loc.substr(c2 + 1))};
  } else {
    l = Location{loc, 0, 0};
  }
  return Status::error(l, text);
}

}  // namespace tessera::passes
