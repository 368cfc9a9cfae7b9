// What the chain-loading tools (setuidgid, envdir, softlimit, chpst, ...)
// need and Node lacks: to become the program they run (execve, same pid, so
// that a supervisor keeps tracking and signalling it), and the process
// attributes they change on the way: resource limits, session and process
// group, root directory, nice level, a blocking flock.
#include "addon.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int SetSoftLimit(int resource, double soft);  // below, outside the namespace: sys.cc calls it too

extern unsigned long long startIgnored;  // native/startup.cc

namespace {

std::vector<std::string> Strings(const Napi::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).ToString().Utf8Value());
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& s) {
  std::vector<char*> p;
  for (auto& x : s) p.push_back(&x[0]);
  p.push_back(nullptr);
  return p;
}

// The program gets the signal state a C tool would hand on: Node ignores
// SIGPIPE and SIGXFSZ (ignored signals survive execve) and may block some
// on this thread. Handled signals go back to default by execve itself.
void ResetSignals() {
  signal(SIGPIPE, SIG_DFL);
  signal(SIGXFSZ, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

// The descriptors the program gets: exactly those the tool had at start
// (0, 1, 2 and whatever it inherited) and those it is told to keep (setlock's
// lock). Node marks the low inherited descriptors close-on-exec while it
// starts (0 to 17 with Node 20), and opens its own among them, all
// close-on-exec: the epoll and eventfd descriptors (anon_inode) and
// libuv's self-pipes, whose two ends it both holds. So: every descriptor that
// is not one of Node's loses close-on-exec; Node's keep it.
// What to put back when the exec fails and the tool lives on to complain.
struct Undo {
  std::vector<std::pair<int, int>> flags;  // fd, its FD_ flags before
  std::vector<std::pair<int, int>> moved;  // number taken, a copy of what was there (-1: nothing)
  void Apply() {
    for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
      if (it->second >= 0) { dup3(it->second, it->first, O_CLOEXEC); close(it->second); }
      else close(it->first);
    }
    for (auto& [fd, fl] : flags) fcntl(fd, F_SETFD, fl);
  }
};

// The open descriptors, each with whether it is one of Node's own.
std::map<int, bool> Classify() {
  std::map<int, bool> out;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return out;
  int self = dirfd(d);
  std::map<int, std::string> target;
  std::map<std::string, int> modes;  // pipe -> O_RDONLY bit | O_WRONLY bit seen
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == self) continue;
    char buf[256];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
    if (n < 0) continue;
    target[fd] = std::string(buf, n);
    if (target[fd].compare(0, 5, "pipe:") == 0) {
      int fl = fcntl(fd, F_GETFL);
      if (fl != -1) modes[target[fd]] |= (fl & O_ACCMODE) == O_RDONLY ? 1 : 2;
    }
  }
  closedir(d);
  for (auto& [fd, what] : target) {
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl == -1) continue;
    out[fd] = fd > 2 && (fdfl & FD_CLOEXEC) &&
              (what.compare(0, 11, "anon_inode:") == 0 ||
               (what.compare(0, 5, "pipe:") == 0 && modes[what] == 3));
  }
  return out;
}

// prior: the classification before descriptors were moved onto targets (a
// move may have taken one end of a pipe of Node's: the other end is still
// Node's, though it now looks like a pipe inherited alone).
void HandOnDescriptors(const std::set<int>& keep, Undo& undo, const std::map<int, bool>* prior = nullptr,
                       const std::set<int>* targets = nullptr) {
  std::map<int, bool> all = Classify();
  if (prior != nullptr) {
    for (auto& [fd, nodes] : all) {
      if (targets != nullptr && targets->count(fd)) continue;
      auto it = prior->find(fd);
      if (it != prior->end() && it->second) nodes = true;
    }
  }
  std::set<int> handed;
  for (auto& [fd, nodes] : all) {
    if (nodes && !keep.count(fd)) continue;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl & FD_CLOEXEC) {
      undo.flags.push_back({fd, fdfl});
      fcntl(fd, F_SETFD, fdfl & ~FD_CLOEXEC);
    }
    if (!keep.count(fd)) handed.insert(fd);
  }
  // A descriptor the tool opened takes the lowest number the program would
  // see free, as in a C tool, where Node's own do not sit in the way.
  for (int fd : keep) {
    int low = 0;
    while (handed.count(low)) low++;
    if (low < fd) {
      int saved = all.count(low) ? fcntl(low, F_DUPFD_CLOEXEC, 0) : -1;
      if (dup2(fd, low) == low) {
        undo.moved.push_back({low, saved});
        fcntl(fd, F_SETFD, FD_CLOEXEC);  // the copy at low goes on; the original stays the tool's
      } else {
        if (saved >= 0) close(saved);
        low = fd;
      }
    }
    handed.insert(low);
  }
}

int Resource(const std::string& name);  // below

// execvpe(file, argv, env): the PATH search of djb's pathexec_run, which the
// originals share: a file with a slash is run as it is; otherwise each PATH
// entry (default /bin:/usr/bin, an empty entry is "."), going on after
// ENOENT, EACCES, EPERM and EISDIR and stopping at any other error; the
// error reported is the last that was not ENOENT. Returns only on failure,
// by throwing. keep (optional): descriptors the tool opened for the program.
// limits (optional): [resource, soft] pairs (softlimit's, chpst's), set here
// after everything else is ready and just before execve: a tool that set a
// data, stack or address-space limit of 0 on itself and then went on running
// JavaScript would die of it before the exec. Put back when the exec fails.
Napi::Value Execvpe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray())
    return ThrowErrno(env, "execve", EINVAL);
  std::string file = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> args = Strings(info[1]), envs = Strings(info[2]);
  std::vector<char*> argv = Pointers(args), envp = Pointers(envs);
  std::string path = "/bin:/usr/bin";
  for (auto& e : envs)
    if (e.compare(0, 5, "PATH=") == 0) { path = e.substr(5); break; }

  std::set<int> keep;
  if (info.Length() > 3 && info[3].IsArray()) {
    Napi::Array k = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < k.Length(); i++) keep.insert(k.Get(i).ToNumber().Int32Value());
  }
  std::vector<std::pair<int, double>> limits;
  if (info.Length() > 4 && info[4].IsArray()) {
    Napi::Array l = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < l.Length(); i++) {
      Napi::Value pair = l.Get(i);
      if (!pair.IsArray()) return ThrowErrno(env, "setrlimit", EINVAL);
      Napi::Array a = pair.As<Napi::Array>();
      int res = Resource(a.Get(0u).ToString().Utf8Value());
      if (res < 0) return ThrowErrno(env, "setrlimit", EINVAL);
      limits.push_back({res, a.Get(1u).ToNumber().DoubleValue()});
    }
  }
  // Every file the PATH search will try, worked out before the limits are set.
  std::vector<std::string> tries;
  if (file.find('/') != std::string::npos) {
    tries.push_back(file);
  } else {
    for (size_t start = 0;;) {
      size_t colon = path.find(':', start);
      std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      tries.push_back((dir.empty() ? std::string(".") : dir) + "/" + file);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  // moves (optional): [from, to] pairs, each from copied onto to (dup2, so
  // without close-on-exec), then every from that is no to closed: tcpclient's
  // socket as the program's fds 6 and 7. Not undone when the exec fails (what
  // was at to is gone: the caller only reports and exits).
  std::vector<std::pair<int, int>> moves;
  if (info.Length() > 5 && info[5].IsArray()) {
    Napi::Array m = info[5].As<Napi::Array>();
    for (uint32_t i = 0; i < m.Length(); i++) {
      Napi::Value pair = m.Get(i);
      if (!pair.IsArray()) return ThrowErrno(env, "dup2", EINVAL);
      Napi::Array a = pair.As<Napi::Array>();
      moves.push_back({a.Get(0u).ToNumber().Int32Value(), a.Get(1u).ToNumber().Int32Value()});
    }
  }
  std::map<int, bool> prior;
  std::set<int> targets;
  if (!moves.empty()) prior = Classify();
  for (auto& [from, to] : moves) {
    targets.insert(to);
    if (from != to && dup2(from, to) == -1) return ThrowErrno(env, "dup2", errno);
  }
  for (auto& [from, to] : moves) {
    bool target = false;
    for (auto& mv : moves) target = target || mv.second == from;
    if (!target) close(from);
    else fcntl(from, F_SETFD, 0);
  }
  std::vector<std::pair<int, struct rlimit>> before(limits.size());
  ResetSignals();
  Undo undo;
  // The tool may have set its own descriptor limit (chpst -o, softlimit -o)
  // below the descriptors Node holds, and listing /proc/self/fd takes one
  // more: for that moment the soft limit is the hard one. prog gets the limit set.
  struct rlimit nofile;
  bool low = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max;
  if (low) {
    struct rlimit up = {nofile.rlim_max, nofile.rlim_max};
    setrlimit(RLIMIT_NOFILE, &up);
  }
  HandOnDescriptors(keep, undo, moves.empty() ? nullptr : &prior, &targets);
  if (low) setrlimit(RLIMIT_NOFILE, &nofile);
  size_t set = 0;
  auto restore = [&]() {
    while (set > 0) { set--; setrlimit(before[set].first, &before[set].second); }
  };
  auto fail = [&](int err) { restore(); undo.Apply(); return ThrowErrno(env, "execve", err); };
  for (auto& [res, soft] : limits) {
    before[set].first = res;
    if (getrlimit(res, &before[set].second) == -1) { int err = errno; restore(); undo.Apply(); return ThrowErrno(env, "getrlimit", err); }
    set++;
    int err = SetSoftLimit(res, soft);
    if (err != 0) { restore(); undo.Apply(); return ThrowErrno(env, "setrlimit", err); }
  }
  if (file.find('/') != std::string::npos) {
    execve(tries[0].c_str(), argv.data(), envp.data());
    return fail(errno);
  }
  int saved = 0, err = ENOENT;
  for (auto& full : tries) {
    execve(full.c_str(), argv.data(), envp.data());
    err = errno;
    if (err != ENOENT) {
      saved = err;
      if (err != EACCES && err != EPERM && err != EISDIR) return fail(err);
    }
  }
  return fail(saved ? saved : err);
}

// Resource names as softlimit and chpst know them.
int Resource(const std::string& name) {
  if (name == "as") return RLIMIT_AS;
  if (name == "core") return RLIMIT_CORE;
  if (name == "cpu") return RLIMIT_CPU;
  if (name == "data") return RLIMIT_DATA;
  if (name == "fsize") return RLIMIT_FSIZE;
  if (name == "memlock") return RLIMIT_MEMLOCK;
  if (name == "nofile") return RLIMIT_NOFILE;
  if (name == "nproc") return RLIMIT_NPROC;
  if (name == "rss") return RLIMIT_RSS;
  if (name == "stack") return RLIMIT_STACK;
  return -1;
}

double Js(rlim_t v) { return v == RLIM_INFINITY ? -1 : double(v); }

// getrlimit(name) -> [soft, hard]; -1 stands for unlimited.
Napi::Value Getrlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int res = info.Length() < 1 || !info[0].IsString() ? -1 : Resource(info[0].As<Napi::String>().Utf8Value());
  if (res < 0) return ThrowErrno(env, "getrlimit", EINVAL);
  struct rlimit rl;
  if (getrlimit(res, &rl) == -1) return ThrowErrno(env, "getrlimit", errno);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, Js(rl.rlim_cur)));
  a.Set(1u, Napi::Number::New(env, Js(rl.rlim_max)));
  return a;
}

// setrlimit(name, soft): the soft limit, -1 for unlimited; the hard limit
// stays (EINVAL above it).
Napi::Value Setrlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int res = info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()
      ? -1 : Resource(info[0].As<Napi::String>().Utf8Value());
  if (res < 0) return ThrowErrno(env, "setrlimit", EINVAL);
  int err = SetSoftLimit(res, info[1].As<Napi::Number>().DoubleValue());
  if (err != 0) return ThrowErrno(env, "setrlimit", err);
  return env.Undefined();
}

Napi::Value Setsid(const Napi::CallbackInfo& info) {
  pid_t s = setsid();
  if (s == -1) return ThrowErrno(info.Env(), "setsid", errno);
  return Napi::Number::New(info.Env(), s);
}

// setpgid(pid, pgid), both 0 for "this process, its own group".
Napi::Value Setpgid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  pid_t pg = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (setpgid(pid, pg) == -1) return ThrowErrno(env, "setpgid", errno);
  return env.Undefined();
}

Napi::Value Chroot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowErrno(env, "chroot", EINVAL);
  if (chroot(info[0].As<Napi::String>().Utf8Value().c_str()) == -1) return ThrowErrno(env, "chroot", errno);
  return env.Undefined();
}

// nice(inc), as chpst -n calls it: -1 with errno set is the only failure.
Napi::Value Nice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowErrno(env, "nice", EINVAL);
  errno = 0;
  int r = nice(info[0].As<Napi::Number>().Int32Value());
  if (r == -1 && errno != 0) return ThrowErrno(env, "nice", errno);
  return Napi::Number::New(env, r);
}

// flockEx(fd): waits for the lock (setlock without -n); the tool has
// nothing else to do meanwhile, so blocking the loop is what it wants.
Napi::Value FlockEx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowErrno(env, "flock", EINVAL);
  int fd = info[0].As<Napi::Number>().Int32Value(), r;
  do r = flock(fd, LOCK_EX); while (r == -1 && errno == EINTR);
  if (r == -1) return ThrowErrno(env, "flock", errno);
  return env.Undefined();
}

// spawnAs(path, argv, env, fd, uid, gids) -> pid: inetd's start of a line's
// program as openbsd-inetd forks it, for what Node's child_process cannot
// do: supplementary groups (libuv clears them whenever it changes uid or gid).
// The child: a session of its own, fd as its 0, 1 and 2, every signal at its
// default and none blocked, the groups (gids; gids[0] the gid) and the uid
// (-1: kept), then execve(path). Only async-signal-safe calls between fork
// and execve; the ids by raw system calls, for the one thread left (glibc's
// would signal the parent's other threads, which the child does not have). An exec
// that fails is thrown with its errno, the child reaped. The program is
// reaped by reapPid, not by Node.
Napi::Value SpawnAs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray() ||
      !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsArray())
    return ThrowErrno(env, "spawnAs", EINVAL);
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> args = Strings(info[1]), envs = Strings(info[2]);
  std::vector<char*> argv = Pointers(args), envp = Pointers(envs);
  int fd = info[3].As<Napi::Number>().Int32Value();
  long uid = info[4].As<Napi::Number>().Int64Value();
  std::vector<gid_t> gids;
  Napi::Array g = info[5].As<Napi::Array>();
  for (uint32_t i = 0; i < g.Length(); i++) gids.push_back(gid_t(g.Get(i).ToNumber().Int64Value()));
  int report[2];
  if (pipe2(report, O_CLOEXEC) == -1) return ThrowErrno(env, "pipe", errno);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // no handler of Node's runs in the child
  pid_t pid = fork();
  if (pid == 0) {
    for (int sig = 1; sig < NSIG; sig++) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      struct sigaction sa;
      // Ignored at start and still ignored: stays so, as for openbsd-inetd's
      // children (native/startup.cc); SIGPIPE, Node's own, goes back.
      if (sig != SIGPIPE && sig <= 64 && (startIgnored >> (sig - 1) & 1) && sigaction(sig, nullptr, &sa) == 0 &&
          sa.sa_handler == SIG_IGN)
        continue;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = SIG_DFL;
      sigaction(sig, &sa, nullptr);
    }
    int err = 0;
    if (setsid() == -1) err = errno;
    for (int to = 0; to < 3 && !err; to++)
      if (fd != to && dup2(fd, to) == -1) err = errno;
    if (!err && !gids.empty()) {
      if (syscall(SYS_setgroups, gids.size(), gids.data()) == -1 || syscall(SYS_setgid, gids[0]) == -1) err = errno;
    }
    if (!err && uid >= 0 && syscall(SYS_setuid, uid_t(uid)) == -1) err = errno;
    if (!err) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execve(path.c_str(), argv.data(), envp.data());
      err = errno;
    }
    (void)!write(report[1], &err, sizeof err);
    _exit(127);
  }
  int forkErr = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(report[1]);
  if (pid == -1) {
    close(report[0]);
    return ThrowErrno(env, "fork", forkErr);
  }
  int err = 0;
  ssize_t n;
  do n = read(report[0], &err, sizeof err); while (n == -1 && errno == EINTR);
  close(report[0]);
  if (n == sizeof err) {
    int st;
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR) {}
    return ThrowErrno(env, "execve", err);
  }
  return Napi::Number::New(env, pid);
}

// reapPid(pid) -> null while it runs, else [exit code or null, signal number or null].
Napi::Value ReapPid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowErrno(env, "waitpid", EINVAL);
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int st;
  pid_t r;
  do r = waitpid(pid, &st, WNOHANG); while (r == -1 && errno == EINTR);
  if (r == -1) return ThrowErrno(env, "waitpid", errno);
  if (r == 0) return env.Null();
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, WIFEXITED(st) ? Napi::Value(Napi::Number::New(env, WEXITSTATUS(st))) : env.Null());
  a.Set(1u, WIFSIGNALED(st) ? Napi::Value(Napi::Number::New(env, WTERMSIG(st))) : env.Null());
  return a;
}

}  // namespace

// The one implementation of a soft limit change, also behind sys.cc's setNofile.
int SetSoftLimit(int resource, double soft) {
  struct rlimit rl;
  if (getrlimit(resource, &rl) == -1) return errno;
  rlim_t v = soft < 0 ? RLIM_INFINITY : rlim_t(soft);
  if (soft != soft || (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max)) return EINVAL;
  rl.rlim_cur = v;
  return setrlimit(resource, &rl) == -1 ? errno : 0;
}

// inheritedFds() -> the descriptors the process was started with (by the
// rule above), for a tool that passes them on to a child (fghack).
Napi::Value InheritedFds(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (auto& [fd, nodes] : Classify())
    if (!nodes) a.Set(i++, Napi::Number::New(info.Env(), fd));
  return a;
}

void InitExec(Napi::Env env, Napi::Object exports) {
  exports.Set("inheritedFds", Napi::Function::New(env, InheritedFds, "inheritedFds"));
  exports.Set("execvpe", Napi::Function::New(env, Execvpe, "execvpe"));
  exports.Set("getrlimit", Napi::Function::New(env, Getrlimit, "getrlimit"));
  exports.Set("setrlimit", Napi::Function::New(env, Setrlimit, "setrlimit"));
  exports.Set("setsid", Napi::Function::New(env, Setsid, "setsid"));
  exports.Set("setpgid", Napi::Function::New(env, Setpgid, "setpgid"));
  exports.Set("chroot", Napi::Function::New(env, Chroot, "chroot"));
  exports.Set("nice", Napi::Function::New(env, Nice, "nice"));
  exports.Set("flockEx", Napi::Function::New(env, FlockEx, "flockEx"));
  exports.Set("spawnAs", Napi::Function::New(env, SpawnAs, "spawnAs"));
  exports.Set("reapPid", Napi::Function::New(env, ReapPid, "reapPid"));
}
