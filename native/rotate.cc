// The rotation of a log directory's full current file in one call, for
// multilog and for svlogd: the same system calls in the same order as the
// JavaScript paths in src/multilog/logdir.ts and src/svlogd/logdir.ts
// (which run without the addon), with no JavaScript between them. That
// matters when the size limit is small and rotations come every few
// kilobytes: a dozen fs calls from JavaScript cost more than the C
// originals' whole rotation.
//
// A failing step stops the call and is reported with its errno, so that the
// caller can say what failed, pause and call again from that step: a logger
// never gives up on its disk.
#include "addon.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <string>
#include <vector>

namespace {

// multilog's steps, in order; src/multilog/logdir.ts numbers them the same.
enum Step { kWrite, kFsync, kRename, kOpen, kFchmod, kChmod, kStat, kLink, kUnlink, kFit, kDone };

// svlogd's, numbered the same in src/svlogd/logdir.ts.
enum SvStep { kSvName, kSvFsync, kSvFchmodOld, kSvRename, kSvOpen, kSvFchmodNew, kSvDone };

constexpr size_t kNameLen = 25;  // '@' and 24 hex digits
constexpr size_t kNameMax = 256;  // a directory entry's name, with its NUL

// A file of the directory: the directory's path with its slash, then the name.
class Paths {
 public:
  Paths(const char* dir, size_t len) : len_(len) { memcpy(buf_, dir, len); }
  const char* operator()(const char* name) {
    size_t n = strlen(name);
    memcpy(buf_ + len_, name, n + 1);
    return buf_;
  }
  static constexpr size_t kDirMax = PATH_MAX - kNameMax;

 private:
  char buf_[PATH_MAX];
  size_t len_;
};

// "@" + 16 hex digits of 2^62 + 10 + seconds + 8 of the nanoseconds, as
// daemontools' timestamp() and runit's fmt_taia have them from gettimeofday
// (microseconds * 1000 + 500).
void Label(double micros, char* out) {
  unsigned long long us = static_cast<unsigned long long>(micros);
  unsigned long long sec = us / 1000000ULL;
  unsigned long nano = static_cast<unsigned long>(us % 1000000ULL) * 1000UL + 500UL;
  snprintf(out, kNameLen + 1, "@%016llx%08lx", (1ULL << 62) + 10ULL + sec, nano);
}

// gettimeofday, as the originals read the time for a name.
double NowMicros() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec);
}

// 1 when fewer than num old files remain; otherwise removes the one with
// the smallest name and looks again at the same listing. 0 when a removal
// failed (the next listing tells why); -errno when the directory could not
// be read.
int FilesFit(Paths& path, double num) {
  DIR* d = opendir(path("."));
  if (d == nullptr) return -errno;
  std::vector<char> names;  // NUL-terminated, one after the other
  std::vector<size_t> at;  // where each starts; a removed one starts with a NUL
  for (;;) {
    errno = 0;
    struct dirent* x = readdir(d);
    if (x == nullptr) break;
    size_t n = strlen(x->d_name);
    if (x->d_name[0] == '@' && n >= kNameLen) {
      at.push_back(names.size());
      names.insert(names.end(), x->d_name, x->d_name + n + 1);
    }
  }
  int err = errno;
  closedir(d);
  if (err != 0) return -err;
  size_t count = at.size();
  for (;;) {
    if (static_cast<double>(count) < num) return 1;
    char oldest[kNameLen + 1] = "@z";
    for (size_t k : at)
      if (names[k] != 0 && strcmp(&names[k], oldest) < 0) {
        memcpy(oldest, &names[k], kNameLen);
        oldest[kNameLen] = 0;
      }
    bool removed = false;
    for (size_t k : at)
      if (names[k] != 0 && strncmp(&names[k], oldest, kNameLen) == 0) {
        if (unlink(path(&names[k])) == -1) return 0;
        names[k] = 0;
        count--;
        removed = true;
        break;
      }
    if (!removed) return 1;  // only names from "@z" on: none is old enough to go
  }
}

// cyclogRotate(dirSlash, fd, num, floor, step, out, data, length): runs the
// steps from `step` on; returns kDone, or the step that failed. dirSlash is
// the directory's path and a slash; data[out[3], length) is still to be
// written to current. out[0]: current's descriptor (the old one, -1 once
// closed, then the new one), out[1]: the microseconds of the last old file's
// name (at least floor), out[2]: errno, out[3]: bytes of data written.
Napi::Value CyclogRotate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsBuffer() || !info[5].IsTypedArray() || !info[6].IsBuffer())
    return ThrowErrno(env, "cyclogRotate", EINVAL);
  Napi::Buffer<char> dir = info[0].As<Napi::Buffer<char>>();
  int fd = info[1].As<Napi::Number>().Int32Value();
  double num = info[2].As<Napi::Number>().DoubleValue();
  double floor = info[3].As<Napi::Number>().DoubleValue();
  int step = info[4].As<Napi::Number>().Int32Value();
  Napi::Float64Array out = info[5].As<Napi::Float64Array>();
  Napi::Buffer<char> data = info[6].As<Napi::Buffer<char>>();
  size_t length = info[7].As<Napi::Number>().Uint32Value();
  if (out.ElementLength() < 4 || length > data.Length()) return ThrowErrno(env, "cyclogRotate", EINVAL);
  if (dir.Length() > Paths::kDirMax) return ThrowErrno(env, "cyclogRotate", ENAMETOOLONG);
  Paths path(dir.Data(), dir.Length());
  char current[PATH_MAX], previous[PATH_MAX];
  snprintf(current, sizeof current, "%s", path("current"));
  snprintf(previous, sizeof previous, "%s", path("previous"));
  char fn[kNameLen + 3];
  struct stat st;
  int err = 0;
  for (; step < kDone && err == 0; step++) {
    switch (step) {
      case kWrite:
        while (out[3] < length) {
          size_t done = static_cast<size_t>(out[3]);
          ssize_t w = write(fd, data.Data() + done, length - done);
          if (w == -1) {
            if (errno == EINTR) continue;
            err = errno;
            break;
          }
          out[3] = static_cast<double>(done + w);
        }
        break;
      case kFsync:
        if (fsync(fd) == -1) {
          err = errno;
          break;
        }
        close(fd);
        fd = -1;
        break;
      case kRename:
        if (rename(current, previous) == -1) err = errno;
        break;
      case kOpen:
        fd = open(current, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd == -1) err = errno;
        break;
      case kFchmod:
        if (fchmod(fd, 0644) == -1) err = errno;
        break;
      case kChmod:
        if (chmod(previous, 0744) == -1) err = errno;
        break;
      case kStat:
        if (stat(previous, &st) == -1) {
          if (errno == ENOENT) step = kDone;  // nothing to finish
          else err = errno;
        } else if (st.st_nlink != 1) {
          step = kLink;  // linked already: a finish cut short
        }
        break;
      case kLink: {
        double us = NowMicros();
        if (us < floor) us = floor;
        out[1] = us;
        floor = us + 1;
        Label(us, fn);
        memcpy(fn + kNameLen, ".s", 3);
        if (link(previous, path(fn)) == -1) err = errno;
        break;
      }
      case kUnlink:
        if (unlink(previous) == -1) err = errno;
        break;
      case kFit: {
        int r = FilesFit(path, num);
        if (r < 0) err = -r;
        else if (r == 0) step--;  // look again
        break;
      }
    }
  }
  out[0] = fd;
  out[2] = err;
  return Napi::Number::New(env, err == 0 ? kDone : step - 1);
}

// svlogdRotate(dirSlash, fd, kind, step, stop, out): svlogd's rotation,
// from `step` up to (not including) `stop`: a name @<tai64n>.<kind> that
// does not exist yet, fsync current, mode 744, close, rename it to that
// name, a new current, mode 644. Returns `stop`, or the step that failed.
// out[0]: current's descriptor (-1 once closed), out[1]: the name's
// microseconds (the last name's on the way in: a new one comes after it),
// out[2]: errno.
Napi::Value SvlogdRotate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsBuffer() || !info[2].IsString() || !info[5].IsTypedArray())
    return ThrowErrno(env, "svlogdRotate", EINVAL);
  Napi::Buffer<char> dir = info[0].As<Napi::Buffer<char>>();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string kind = info[2].As<Napi::String>().Utf8Value();
  int step = info[3].As<Napi::Number>().Int32Value();
  int stop = info[4].As<Napi::Number>().Int32Value();
  Napi::Float64Array out = info[5].As<Napi::Float64Array>();
  if (out.ElementLength() < 3 || kind.size() != 1 || stop > kSvDone) return ThrowErrno(env, "svlogdRotate", EINVAL);
  if (dir.Length() > Paths::kDirMax) return ThrowErrno(env, "svlogdRotate", ENAMETOOLONG);
  Paths path(dir.Data(), dir.Length());
  char current[PATH_MAX], saved[PATH_MAX];
  snprintf(current, sizeof current, "%s", path("current"));
  char fn[kNameLen + 3];
  Label(out[1], fn);
  fn[kNameLen] = '.';
  fn[kNameLen + 1] = kind[0];
  fn[kNameLen + 2] = 0;
  struct stat st;
  int err = 0;
  for (; step < stop && err == 0; step++) {
    switch (step) {
      case kSvName:
        // As runit: until stat says there is no such file (another error is
        // another try); never before the last name, even if the clock went back.
        do {
          double last = out[1];
          out[1] = NowMicros();
          if (out[1] <= last) out[1] = last + 1;
          Label(out[1], fn);
          fn[kNameLen] = '.';
        } while (stat(path(fn), &st) != -1 || errno != ENOENT);
        break;
      case kSvFsync:
        if (fsync(fd) == -1) err = errno;
        break;
      case kSvFchmodOld:
        if (fchmod(fd, 0744) == -1) {
          err = errno;
          break;
        }
        close(fd);
        fd = -1;
        break;
      case kSvRename:
        snprintf(saved, sizeof saved, "%s", path(fn));
        if (rename(current, saved) == -1) err = errno;
        break;
      case kSvOpen:
        fd = open(current, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
        if (fd == -1) err = errno;
        break;
      case kSvFchmodNew:
        if (fchmod(fd, 0644) == -1) err = errno;
        break;
    }
  }
  out[0] = fd;
  out[2] = err;
  return Napi::Number::New(env, err == 0 ? stop : step - 1);
}

// svlogdPrune(dirSlash, nmax, verbose): svlogd's rmoldest. Removes the
// processor's leftovers (@...t) and, when more than nmax old files other
// than .u remain (nmax 0: no limit), the one with the smallest name.
// Returns 0 when there is nothing to say, -errno when the directory cannot
// be opened (the caller pauses and calls again), or what to say in order:
// [0, name, errno] for a leftover that stays, [2, null, errno] for a
// listing cut short, then [1, name, errno or 0] for the oldest file (with
// verbose, or when it stays).
Napi::Value SvlogdPrune(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsBuffer()) return ThrowErrno(env, "svlogdPrune", EINVAL);
  Napi::Buffer<char> dir = info[0].As<Napi::Buffer<char>>();
  double nmax = info[1].As<Napi::Number>().DoubleValue();
  bool verbose = info[2].ToBoolean().Value();
  if (dir.Length() > Paths::kDirMax) return ThrowErrno(env, "svlogdPrune", ENAMETOOLONG);
  Paths path(dir.Data(), dir.Length());
  constexpr size_t kOldLen = 27;  // '@', 24 hex digits, '.', one of s u t
  DIR* d = opendir(path("."));
  if (d == nullptr) return Napi::Number::New(env, -errno);
  Napi::Array said;
  uint32_t nsaid = 0;
  auto say = [&](int kind, const char* name, int err) {
    if (nsaid == 0) said = Napi::Array::New(env);
    Napi::Array e = Napi::Array::New(env, 3);
    e.Set(0u, Napi::Number::New(env, kind));
    e.Set(1u, name ? Napi::Value(Napi::Buffer<char>::Copy(env, name, strlen(name))) : env.Null());
    e.Set(2u, Napi::Number::New(env, err));
    said.Set(nsaid++, e);
  };
  char oldest[kOldLen + 1] = "A";
  double n = 0;
  errno = 0;
  for (struct dirent* f; (f = readdir(d)) != nullptr;) {
    if (f->d_name[0] != '@' || strlen(f->d_name) != kOldLen) continue;
    if (f->d_name[26] == 't') {
      if (unlink(path(f->d_name)) == -1) say(0, f->d_name, errno);
    } else if (f->d_name[26] != 'u') {  // a .u is neither counted nor removed
      n++;
      if (strcmp(f->d_name, oldest) < 0) memcpy(oldest, f->d_name, kOldLen + 1);
    }
    errno = 0;
  }
  if (errno != 0) say(2, nullptr, errno);
  closedir(d);
  if (nmax > 0 && n > nmax && oldest[0] == '@') {
    int err = unlink(path(oldest)) == -1 ? errno : 0;
    if (verbose || err != 0) say(1, oldest, err);
  }
  if (nsaid == 0) return Napi::Number::New(env, 0);
  return said;
}

}  // namespace

void InitRotate(Napi::Env env, Napi::Object exports) {
  exports.Set("cyclogRotate", Napi::Function::New(env, CyclogRotate, "cyclogRotate"));
  exports.Set("svlogdRotate", Napi::Function::New(env, SvlogdRotate, "svlogdRotate"));
  exports.Set("svlogdPrune", Napi::Function::New(env, SvlogdPrune, "svlogdPrune"));
}
