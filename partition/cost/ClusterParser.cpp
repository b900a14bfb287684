// The cluster file parser (format: docs/cluster-format.md). Line oriented: each non-blank line is
// a statement `keyword word...`, words are `value` or `key=value`, `#` starts a comment. Every
// error names the line and column of the offending word. Numbers take unit suffixes (GB/s, us,
// GiB, T, ...) so that a file reads like a data sheet.
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>

#include "partition/cost/ClusterSpec.h"

namespace tessera::partition::cost {

namespace {

struct Word {
  std::string_view text;
  int col = 1;
};

enum class Unit { Count, Bytes, Bandwidth, Time, Flops, Fraction };

// Splits "12.5GB/s" into the number and its suffix, scaled by the suffix for the given unit.
std::optional<double> parseQuantity(std::string_view s, Unit unit, std::string& why) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' ||
                          s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-')) {
    // an 'e' only belongs to the number when a digit or sign follows (so "5e" is not "5" + "e")
    if ((s[i] == 'e' || s[i] == 'E') &&
        !(i + 1 < s.size() && (std::isdigit(static_cast<unsigned char>(s[i + 1])) ||
                               s[i + 1] == '+' || s[i + 1] == '-')))
      break;
    ++i;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (i == 0 || ec != std::errc() || p != s.data() + i || !std::isfinite(v) || v < 0) {
    why = "expected a non-negative number";
    return std::nullopt;
  }
  std::string_view suf = s.substr(i);
  static const std::map<std::string_view, double> bytes = {
      {"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
      {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
  static const std::map<std::string_view, double> bandwidth = {
      {"B/s", 1}, {"KB/s", 1e3}, {"MB/s", 1e6}, {"GB/s", 1e9}, {"TB/s", 1e12},
      {"Kb/s", 1e3 / 8}, {"Mb/s", 1e6 / 8}, {"Gb/s", 1e9 / 8}, {"Tb/s", 1e12 / 8}};
  static const std::map<std::string_view, double> time = {
      {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}};
  static const std::map<std::string_view, double> flops = {
      {"", 1}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}};
  const std::map<std::string_view, double>* table = nullptr;
  const char* expect = "";
  switch (unit) {
    case Unit::Count:
    case Unit::Fraction:
      if (!suf.empty()) { why = "unexpected unit '" + std::string(suf) + "'"; return std::nullopt; }
      return v;
    case Unit::Bytes: table = &bytes; expect = "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"; break;
    case Unit::Bandwidth: table = &bandwidth; expect = "B/s, KB/s, MB/s, GB/s, TB/s, Gb/s, ..."; break;
    case Unit::Time: table = &time; expect = "s, ms, us, ns"; break;
    case Unit::Flops: table = &flops; expect = "K, M, G, T, P (FLOP/s)"; break;
  }
  auto it = table->find(suf);
  if (it == table->end()) {
    why = "unknown unit '" + std::string(suf) + "' (expected " + expect + ")";
    return std::nullopt;
  }
  return v * it->second;
}

class Parser {
 public:
  Parser(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {}

  StatusOr<ClusterSpec> run() {
    int lineNo = 0;
    size_t pos = 0;
    while (pos <= text_.size()) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      ++lineNo;
      TRY(statement(text_.substr(pos, end - pos), lineNo));
      pos = end + 1;
    }
    return finish();
  }

 private:
  Status error(int line, int col, const std::string& m) const {
    return Status::error(Location{file_, line, col}, m);
  }

  Status statement(std::string_view line, int lineNo) {
    for (size_t i = 0; i < line.size() && line[i] != '#'; ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if ((c < 0x20 && c != '\t' && c != '\r') || c >= 0x7f)
        return error(lineNo, static_cast<int>(i) + 1,
                     "unexpected character (code " + std::to_string(c) + ")");
    }
    std::vector<Word> words;
    for (size_t i = 0; i < line.size();) {
      char c = line[i];
      if (c == '#') break;
      if (c == ' ' || c == '\t' || c == '\r') { ++i; continue; }
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '#') ++j;
      words.push_back({line.substr(i, j - i), static_cast<int>(i) + 1});
      i = j;
    }
    if (words.empty()) return Status::ok();
    const Word& kw = words[0];
    const std::vector<Word> args(words.begin() + 1, words.end());
    line_ = lineNo;
    if (kw.text == "name") return nameStmt(kw, args);
    if (kw.text == "nodes") return countStmt(kw, args, nodes_);
    if (kw.text == "devices_per_node") return countStmt(kw, args, perNode_);
    if (kw.text == "device") return deviceStmt(kw, args);
    if (kw.text == "level") return levelStmt(kw, args);
    return error(lineNo, kw.col, "unknown statement '" + std::string(kw.text) +
                                     "' (expected name, device, nodes, devices_per_node or level)");
  }

  Status nameStmt(const Word& kw, const std::vector<Word>& args) {
    if (args.size() != 1) return error(line_, kw.col, "'name' takes one word");
    name_ = std::string(args[0].text);
    return Status::ok();
  }

  Status countStmt(const Word& kw, const std::vector<Word>& args, std::optional<int64_t>& out) {
    if (out) return error(line_, kw.col, "'" + std::string(kw.text) + "' given twice");
    if (args.size() != 1) return error(line_, kw.col, "'" + std::string(kw.text) + "' takes one number");
    int64_t v = 0;
    std::string_view s = args[0].text;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 1'000'000)
      return error(line_, args[0].col, "expected a whole number from 1 to 1000000, got '" + std::string(s) + "'");
    out = v;
    return Status::ok();
  }

  // Splits `key=value`; errors point at the word.
  Status keyValue(const Word& w, std::string_view& key, Word& value) {
    size_t eq = w.text.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == w.text.size())
      return error(line_, w.col, "expected key=value, got '" + std::string(w.text) + "'");
    key = w.text.substr(0, eq);
    value = {w.text.substr(eq + 1), w.col + static_cast<int>(eq) + 1};
    return Status::ok();
  }

  StatusOr<double> quantity(const Word& w, Unit u) {
    std::string why;
    std::optional<double> v = parseQuantity(w.text, u, why);
    if (!v) return error(line_, w.col, why + " in '" + std::string(w.text) + "'");
    return *v;
  }

  Status deviceStmt(const Word& kw, const std::vector<Word>& args) {
    if (device_) return error(line_, kw.col, "'device' given twice");
    if (args.empty()) return error(line_, kw.col, "'device' needs a device name (" + builtinDeviceNames() + ")");
    const DeviceSpec* base = findDevice(args[0].text);
    if (!base)
      return error(line_, args[0].col, "unknown device '" + std::string(args[0].text) +
                                           "' (known: " + builtinDeviceNames() + ")");
    DeviceSpec d = *base;
    for (size_t i = 1; i < args.size(); ++i) {
      std::string_view key;
      Word val;
      TRY(keyValue(args[i], key, val));
      using ir::DType;
      static const std::map<std::string_view, DType> peaks = {
          {"peak.f32", DType::F32}, {"peak.f64", DType::F64}, {"peak.bf16", DType::BF16},
          {"peak.f16", DType::F16}, {"peak.i32", DType::I32}, {"peak.i64", DType::I64}};
      if (key == "name") { d.name = std::string(val.text); continue; }
      if (auto it = peaks.find(key); it != peaks.end()) {
        TRY_ASSIGN(double v, quantity(val, Unit::Flops));
        d.setPeak(it->second, v);
        continue;
      }
      double* slot = nullptr;
      Unit u = Unit::Fraction;
      if (key == "vector") { slot = &d.vectorPeak; u = Unit::Flops; }
      else if (key == "memory") { slot = &d.memoryBytes; u = Unit::Bytes; }
      else if (key == "bandwidth") { slot = &d.memoryBandwidth; u = Unit::Bandwidth; }
      else if (key == "memory_efficiency") { slot = &d.memoryEfficiency; }
      else if (key == "launch") { slot = &d.launchOverhead; u = Unit::Time; }
      else if (key == "gemm_max") { slot = &d.gemm.max; }
      else if (key == "gemm_half_dim") { slot = &d.gemm.halfDim; u = Unit::Count; }
      else if (key == "gemm_trans_a") { slot = &d.gemm.transA; u = Unit::Count; }
      else if (key == "gemm_trans_b") { slot = &d.gemm.transB; u = Unit::Count; }
      else if (key == "gemm_item") { slot = &d.gemm.itemSeconds; u = Unit::Time; }
      else if (key == "gemm_batched") { slot = &d.gemm.batched; u = Unit::Count; }
      else
        return error(line_, args[i].col, "unknown device property '" + std::string(key) +
                                             "' (expected name, peak.<dtype>, vector, memory, bandwidth, "
                                             "memory_efficiency, launch, gemm_max, gemm_half_dim, "
                                             "gemm_trans_a, gemm_trans_b, gemm_batched, gemm_item)");
      TRY_ASSIGN(*slot, quantity(val, u));
      if ((key == "memory_efficiency" || key == "gemm_max") && !(*slot > 0 && *slot <= 1))
        return error(line_, val.col, "'" + std::string(key) + "' must be in (0, 1]");
      // A transposed read may be faster than the plain one (a different packing path): (0, 2].
      if ((key == "gemm_trans_a" || key == "gemm_trans_b" || key == "gemm_batched") &&
          !(*slot > 0 && *slot <= 2))
        return error(line_, val.col, "'" + std::string(key) + "' must be in (0, 2]");
    }
    device_ = std::move(d);
    deviceLine_ = line_;
    return Status::ok();
  }

  Status levelStmt(const Word& kw, const std::vector<Word>& args) {
    if (args.empty()) return error(line_, kw.col, "'level' needs a name, then bandwidth=... latency=...");
    if (args[0].text.find('=') != std::string_view::npos)
      return error(line_, args[0].col, "'level' needs a name before its properties");
    NetworkLevel l;
    l.name = std::string(args[0].text);
    l.span = 0;  // filled in by finish() unless given
    bool haveBw = false, haveLat = false;
    for (size_t i = 1; i < args.size(); ++i) {
      std::string_view key;
      Word val;
      TRY(keyValue(args[i], key, val));
      if (key == "bandwidth") {
        TRY_ASSIGN(l.bandwidth, quantity(val, Unit::Bandwidth));
        if (!(l.bandwidth > 0)) return error(line_, val.col, "bandwidth must be positive");
        haveBw = true;
      } else if (key == "latency") {
        TRY_ASSIGN(l.latency, quantity(val, Unit::Time));
        haveLat = true;
      } else if (key == "efficiency") {
        TRY_ASSIGN(l.efficiency, quantity(val, Unit::Count));
        if (!(l.efficiency > 0 && l.efficiency <= 1))
          return error(line_, val.col, "efficiency must be in (0, 1]");
      } else if (key == "large") {
        // large=BYTES:BANDWIDTH, e.g. large=2MB:0.3GB/s (ClusterSpec.h NetworkLevel::largeBytes).
        const size_t colon = val.text.find(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == val.text.size())
          return error(line_, val.col, "expected large=BYTES:BANDWIDTH (e.g. 2MB:0.3GB/s), got '" +
                                           std::string(val.text) + "'");
        TRY_ASSIGN(l.largeBytes, quantity(Word{val.text.substr(0, colon), val.col}, Unit::Bytes));
        TRY_ASSIGN(l.largeBandwidth,
                   quantity(Word{val.text.substr(colon + 1), val.col + static_cast<int>(colon) + 1},
                            Unit::Bandwidth));
        if (!(l.largeBytes > 0) || !(l.largeBandwidth > 0))
          return error(line_, val.col, "large=BYTES:BANDWIDTH needs both positive");
      } else if (key == "span") {
        TRY_ASSIGN(double s, quantity(val, Unit::Count));
        if (s < 1 || s > 1e8 || s != std::floor(s))
          return error(line_, val.col, "span must be a whole number of devices");
        l.span = static_cast<int64_t>(s);
      } else {
        return error(line_, args[i].col, "unknown level property '" + std::string(key) +
                                             "' (expected bandwidth, latency, efficiency, large, span)");
      }
    }
    if (!haveBw) return error(line_, kw.col, "level '" + l.name + "' needs bandwidth=...");
    if (!haveLat) return error(line_, kw.col, "level '" + l.name + "' needs latency=...");
    levels_.push_back(l);
    levelLines_.push_back(line_);
    return Status::ok();
  }

  StatusOr<ClusterSpec> finish() {
    Location top{file_, 1, 1};
    if (!device_) return Status::error(top, "no 'device' statement");
    ClusterSpec c;
    c.name = name_.empty() ? file_ : name_;
    c.nodes = nodes_.value_or(1);
    c.devicesPerNode = perNode_.value_or(1);
    c.device = *device_;
    if (levels_.empty()) {
      c.levels = defaultNetwork(c.device, c.nodes, c.devicesPerNode);
    } else {
      c.levels = levels_;
      // Defaults: with two or more levels the first spans a node; the last always spans all.
      if (c.levels.size() >= 2 && c.levels[0].span == 0) c.levels[0].span = c.devicesPerNode;
      if (c.levels.back().span == 0) c.levels.back().span = c.numDevices();
      for (size_t i = 0; i < c.levels.size(); ++i)
        if (c.levels[i].span == 0)
          return Status::error(Location{file_, levelLines_[i], 1},
                               "level '" + c.levels[i].name + "' needs span=... (only the first and last have defaults)");
    }
    Location at{file_, levelLines_.empty() ? deviceLine_ : levelLines_.back(), 1};
    TRY(c.check(at));
    return c;
  }

  std::string_view text_;
  std::string file_;
  int line_ = 0;
  std::string name_;
  std::optional<int64_t> nodes_, perNode_;
  std::optional<DeviceSpec> device_;
  int deviceLine_ = 1;
  std::vector<NetworkLevel> levels_;
  std::vector<int> levelLines_;
};

}  // namespace

StatusOr<ClusterSpec> parseClusterFile(std::string_view text, const std::string& fileName) {
  return Parser(text, fileName).run();
}

}  // namespace tessera::partition::cost
