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

// Options of one pass, `key=value,key=value` (the text between its braces), given to
// Pass::setOption in order.
static Status applyOptions(Pass& pass, std::string_view options, std::string_view spec) {
  auto fail = [&](const std::string& why) {
    return Status::error("pass '" + std::string(pass.name()) + "' in pipeline '" +
                         std::string(spec) + "': " + why);
  };
  if (trim(options).empty()) return Status::ok();
  size_t start = 0;
  while (true) {
    size_t comma = options.find(',', start);
    std::string_view item = trim(options.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || trim(item.substr(0, eq)).empty())
      return fail("expected key=value, got '" + std::string(item) + "'");
    Status st = pass.setOption(trim(item.substr(0, eq)), trim(item.substr(eq + 1)));
    if (!st.isOk()) {
      const std::string& m = st.message();
      return fail(m.rfind("error: ", 0) == 0 ? m.substr(7) : m);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::ok();
}

StatusOr<Pipeline> Pipeline::parse(std::string_view spec) {
  Pipeline p;
  if (trim(spec).empty()) return p;
  size_t start = 0;
  while (true) {
    // One element, `name` or `name{options}`, ends at the first comma outside braces.
    size_t end = start;
    bool inBraces = false;
    for (; end < spec.size() && (inBraces || spec[end] != ','); ++end) {
      if (spec[end] == '{' && inBraces)
        return Status::error("nested '{' in pipeline '" + std::string(spec) + "'");
      if (spec[end] == '}' && !inBraces)
        return Status::error("unmatched '}' in pipeline '" + std::string(spec) + "'");
      if (spec[end] == '{' || spec[end] == '}') inBraces = !inBraces;
    }
    if (inBraces) return Status::error("unclosed '{' in pipeline '" + std::string(spec) + "'");
    std::string_view element = trim(spec.substr(start, end - start));
    std::string_view name = element;
    std::string_view options;
    bool hasOptions = false;
    if (size_t brace = element.find('{'); brace != std::string_view::npos) {
      if (element.back() != '}')
        return Status::error("text after '}' in pipeline '" + std::string(spec) + "'");
      name = trim(element.substr(0, brace));
      options = element.substr(brace + 1, element.size() - brace - 2);
      hasOptions = true;
    }
    if (name.empty())
      return Status::error("empty pass name in pipeline '" + std::string(spec) +
                           "' (known passes: " + knownPassNames() + ")");
    const PassInfo* info = findPass(name);
    if (!info)
      return Status::error("unknown pass '" + std::string(name) + "' in pipeline '" +
                           std::string(spec) + "' (known passes: " + knownPassNames() + ")");
    p.passes_.push_back(info->create());
    if (hasOptions) TRY(applyOptions(*p.passes_.back(), options, spec));
    if (end >= spec.size()) break;
    start = end + 1;
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
