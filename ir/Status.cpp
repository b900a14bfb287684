// Formatting of locations and error statuses.
#include "ir/Status.h"

namespace tessera {

std::string Location::str() const {
  if (file.empty()) return "<unknown>";
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

Status Status::error(const Location& loc, const std::string& message) {
  Status s;
  s.message_ = std::make_shared<const std::string>(loc.str() + ": error: " + message);
  return s;
}

Status Status::error(const std::string& message) {
  Status s;
  s.message_ = std::make_shared<const std::string>("error: " + message);
  return s;
}

const std::string& Status::message() const {
  static const std::string kOk = "ok";
  return message_ ? *message_ : kOk;
}

}  // namespace tessera
