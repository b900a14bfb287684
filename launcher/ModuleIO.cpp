// Module reading and encoding by file extension.
#include "launcher/ModuleIO.h"

#include <iostream>
#include <iterator>

#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/ProtoSerializer.h"
#include "launcher/FileUtil.h"

namespace tessera::launcher {

static bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<ModuleFormat> formatOfPath(const std::string& path) {
  if (path == "-" || endsWith(path, ".tir")) return ModuleFormat::Text;
  if (endsWith(path, ".tpb") || endsWith(path, ".pb")) return ModuleFormat::Proto;
  return Status::error(Location{path, 0, 0},
                       "cannot tell the module format from the file name; use .tir for the text "
                       "form or .tpb/.pb for the protobuf form");
}

StatusOr<std::unique_ptr<ir::Module>> parseModuleText(const std::string& text,
                                                      const std::string& filename) {
  return ir::parseModule(text, filename);
}

StatusOr<std::unique_ptr<ir::Module>> readModule(const std::string& path) {
  TRY_ASSIGN(ModuleFormat format, formatOfPath(path));
  std::string bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return ir::parseModule(bytes, "<stdin>");
  }
  TRY_ASSIGN(bytes, readFile(path));
  if (format == ModuleFormat::Proto) return ir::deserializeModule(bytes, path);
  return ir::parseModule(bytes, path);
}

StatusOr<std::string> encodeModule(const ir::Module& m, ModuleFormat format) {
  if (format == ModuleFormat::Proto) return ir::serializeModule(m);
  return ir::printModule(m);
}

}  // namespace tessera::launcher
