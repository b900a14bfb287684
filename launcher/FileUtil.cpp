// Whole-file reads and atomic writes (temp file in the target's directory, then rename).
#include "launcher/FileUtil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace tessera::launcher {

static Status fileError(const std::string& path, const std::string& what) {
  return Status::error(Location{path, 0, 0}, what + ": " + std::strerror(errno));
}

bool fileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

StatusOr<std::string> readFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return fileError(path, "cannot open");
  if (S_ISDIR(st.st_mode))
    return Status::error(Location{path, 0, 0}, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fileError(path, "cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fileError(path, "read failed");
  return ss.str();
}

Status writeFileAtomically(const std::string& path, std::string_view bytes) {
  // The temporary lives next to the target so that rename() never crosses a file system.
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return fileError(path, "cannot create a temporary file next to it");
  std::string tmp(name.data());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = fileError(path, "write failed");
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    done += static_cast<size_t>(n);
  }
  // mkstemp creates the file 0600; give it the usual permissions of a new file.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  if (::close(fd) != 0) {
    Status st = fileError(path, "write failed");
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = fileError(path, "cannot replace");
    ::unlink(tmp.c_str());
    return st;
  }
  return Status::ok();
}

}  // namespace tessera::launcher
