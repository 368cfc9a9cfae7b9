// System calls Node lacks, for the supervisor: flock(2) on supervise/lock
// (daemontools and runit both lock with flock, so we must too), mkfifo(3)
// for supervise/control and supervise/ok, and pipe2(2) for the pipe between
// a service and its log service, which the supervisor keeps open itself;
// FD_CLOEXEC on the descriptors a scanner hands to its keeper.
#include "addon.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int SetSoftLimit(int resource, double soft);  // native/exec.cc

namespace {

// flockExNb(fd) -> true when locked, false when another holder has it.
Napi::Value FlockExNb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    return ThrowErrno(env, "flock", EINVAL);
  int fd = info[0].As<Napi::Number>().Int32Value();
  int r;
  do r = flock(fd, LOCK_EX | LOCK_NB); while (r == -1 && errno == EINTR);
  if (r == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  return ThrowErrno(env, "flock", errno);
}

// mkfifo(path, mode); an existing FIFO is not an error (the originals reuse it).
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    return ThrowErrno(env, "mkfifo", EINVAL);
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = static_cast<mode_t>(info[1].As<Napi::Number>().Uint32Value());
  if (mkfifo(path.c_str(), mode) == -1) {
    int err = errno;
    struct stat st;
    if (err == EEXIST && stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode))
      return env.Undefined();
    return ThrowErrno(env, "mkfifo", err);
  }
  return env.Undefined();
}

// pipe() -> [readFd, writeFd], both close-on-exec so that only the children
// we hand them to (through spawn's stdio) get a copy.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) == -1) return ThrowErrno(env, "pipe", errno);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, fds[0]));
  a.Set(1u, Napi::Number::New(env, fds[1]));
  return a;
}

// setNofile(soft): the soft RLIMIT_NOFILE back to what the command was
// started with (bin/ records it before Node raises it to the hard limit), so
// that the programs it runs inherit the administrator's limit; -1: unlimited.
// A thin caller of native/exec.cc's SetSoftLimit, softlimit's and chpst's.
Napi::Value SetNofile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowErrno(env, "setrlimit", EINVAL);
  int err = SetSoftLimit(RLIMIT_NOFILE, info[0].As<Napi::Number>().DoubleValue());
  if (err != 0) return ThrowErrno(env, "setrlimit", err);
  return env.Undefined();
}

// cloexec(fd): set FD_CLOEXEC, so that the programs a supervisor starts do
// not inherit a descriptor it was handed (a lock, a FIFO, a pipe).
Napi::Value Cloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowErrno(env, "fcntl", EINVAL);
  int fd = info[0].As<Napi::Number>().Int32Value();
  int flags = fcntl(fd, F_GETFD);
  if (flags == -1 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1) return ThrowErrno(env, "fcntl", errno);
  return env.Undefined();
}

}  // namespace

void InitSys(Napi::Env env, Napi::Object exports) {
  exports.Set("flockExNb", Napi::Function::New(env, FlockExNb, "flockExNb"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("setNofile", Napi::Function::New(env, SetNofile, "setNofile"));
  exports.Set("cloexec", Napi::Function::New(env, Cloexec, "cloexec"));
}
