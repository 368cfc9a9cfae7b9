// The native launch path: posix_spawn off the event loop, and a reaper thread.
//
// Why this shape: libuv's spawn forks the whole server and waits on the main
// thread until exec; posix_spawn (clone with CLONE_VM|CLONE_VFORK) copies no
// page tables, and running it on our own threads keeps the loop accepting
// while a child is being exec'd. A live child costs the server no descriptor
// (as with the originals: -c 1100 under a 1024 descriptor limit works): the
// reaper waits for any child with waitid(P_ALL, WNOWAIT), and reaps only the
// children it knows, by pid. A server on this path starts no other children.
// Results reach JavaScript in batches: one uv_async wake-up, one call.
//
// At low concurrency the hand-offs between threads are most of what the
// server adds to a client's path: a child asked for while no other is live,
// queued or being spawned is spawned on the main thread (nothing else is
// waiting for it) and watched there through a pidfd, the one descriptor a
// live child may cost; its exit wakes the main loop directly.
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

extern unsigned long long startIgnored;  // native/startup.cc

namespace {

// An environment shared by many children (the server's own, minus the
// connection variables): copied out of V8 once, kept for the process's life.
struct Template {
  std::string text;
  std::vector<char*> vars;
};
std::vector<Template*> templates;  // main thread adds; spawners only read entries

// One spawn request, copied out of V8 on the main thread: argv and env are
// NUL-terminated strings laid end to end.
struct Request {
  const Template* base;  // or null: env holds the whole environment
  int32_t id;
  int fd;
  bool owned;  // close fd once the spawn is done, whatever its outcome
  bool lazy;   // a successful start need not wake the main loop
  int argc, envc;
  std::string argv, env;
  // inetd's and udpsvd's programs (all optional; tcpsvd and tcpserver use none):
  std::string path;  // the file executed, not searched; argv[0] is then only a name
  int flags = 0;     // SPAWN_*
  long uid = -1;     // setuid(2) to it; -1: kept
  std::vector<gid_t> gids;  // setgroups(2), gids[0] also setgid(2); none: kept
  int pidVar = -1;  // SPAWN_PIDVAR: this entry of env gets the child's pid
};
enum {
  SPAWN_FD2 = 1,      // the socket is fd 2 as well (else fd 2 is the server's)
  SPAWN_SESSION = 2,  // setsid(2): a session and process group of its own
  SPAWN_PIDVAR = 4,   // the child writes its own pid into one variable (unixserver's UNIXLOCALPID)
  SPAWN_IGN_HPA = 8,  // HUP, PIPE and ALRM ignored in the child, as ucspi-unix's children inherit them
  SPAWN_FD1_STDERR = 16,  // fd 1 is the server's fd 2 (udpsvd's), not the socket
};
constexpr size_t PID_ROOM = 10;  // the digits reserved after the variable's '='



// What JavaScript receives, flattened to an Int32Array, 4 ints per event:
// [STARTED, id, pid or -errno, 0] or [EXITED, id, code or -1, signal or 0].
enum { STARTED = 0, EXITED = 1 };
struct Event {
  int32_t kind, id, a, b;
};

struct State {
  napi_env env = nullptr;
  uv_async_t async;
  napi_ref callback = nullptr;
  napi_ref resource = nullptr;
  napi_async_context context = nullptr;
  // The live children: pid -> request id. The reaper waits while it is empty.
  std::mutex clock;
  std::condition_variable ccond;
  std::unordered_map<pid_t, int32_t> children;
  // Main thread only: requests not yet ended (started with an error, or exited).
  long outstanding = 0;

  std::mutex qlock;
  std::condition_variable qcond;
  std::deque<Request*> queue;
  int spawning = 0;  // with qlock: requests queued or being spawned by a spawner
  // The child spawned on the main thread while no other was live: watched
  // through a pidfd in our own epoll set (polled by the main loop) and
  // reaped here, so that at low concurrency neither the reaper thread nor
  // a cross-thread wake-up is on a client's path. 0: none.
  std::atomic<pid_t> solo{0};
  int32_t soloId = 0;
  int soloFd = -1;
  int epfd = -1;  // holds soloFd while there is one
  uv_poll_t epPoll;
  int inlineMode = 1;  // UCSPI_SPAWN_INLINE: 0 never, 1 when nothing else is being spawned

  std::mutex elock;
  std::vector<Event> events;
  bool signaled = false;  // a wake-up of the main loop is pending for events
  bool closing = false;
};

State* state = nullptr;

// With elock held: have the main loop drain the events, unless it will already.
void wakeLocked() {
  if (state->signaled) return;
  state->signaled = true;
  uv_async_send(&state->async);
}

// wake = false: the event may wait for the next wake-up (an EXITED always
// follows a STARTED, so order is kept and nothing waits forever).
void post(const Event& e, bool wake = true) {
  std::lock_guard<std::mutex> g(state->elock);
  if (state->closing) return;
  state->events.push_back(e);
  if (wake) wakeLocked();
}

// The signals whose disposition is not SIG_DFL: the child sets just these
// back (SIG_IGN survives exec, and no handler may run in a child that still
// shares our memory), instead of 62 system calls (~20 us) in every child.
// A signal that was ignored when the command started and is still ignored
// stays so, as it does for the originals' children (nohup, a shell's
// background job); SIGPIPE, which Node ignores for itself, goes back.
// Dispositions are set at start-up, so the set is asked for again at most
// every 100 ms; exec resets a handler installed since, in any case.
struct SigSet {
  int n;
  int sig[64];
};

std::mutex siglock;
SigSet sigcache;
int64_t sigcacheAt = INT64_MIN;

void dispositions(SigSet* out) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  int64_t now = int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  std::lock_guard<std::mutex> g(siglock);
  if (sigcacheAt == INT64_MIN || now - sigcacheAt >= 100) {
    SigSet set;
    set.n = 0;
    for (int sig = 1; sig <= 64; sig++) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      // The raw call: glibc's sigaction() refuses its own internal signals.
      unsigned long ksa[4] = {0, 0, 0, 0};  // handler, flags, restorer, mask
      if (syscall(SYS_rt_sigaction, sig, nullptr, ksa, 8) == 0 && ksa[0] == 0) continue;  // SIG_DFL
      if (ksa[0] == reinterpret_cast<unsigned long>(SIG_IGN) && sig != SIGPIPE && (startIgnored >> (sig - 1) & 1)) continue;
      set.sig[set.n++] = sig;
    }
    sigcache = set;
    sigcacheAt = now;
  }
  *out = sigcache;
}

// What the vfork child needs, all prepared by the parent: between vfork and
// exec the child shares our memory and may only make raw system calls.
struct Plan {
  char* const* argv;
  char* const* envp;
  std::vector<std::string> paths;  // argv[0], or each $PATH candidate in order
  int fd;
  int flags;
  long uid;
  const std::vector<gid_t>* gids;
  char* pidSlot;     // SPAWN_PIDVAR: PID_ROOM bytes and a NUL, the child's own to fill
  SigSet sigs;       // to set back to SIG_DFL in the child
  volatile int err;  // written by the child when every exec failed
};

// Raw system calls only: no errno-dependent libc state, no locks, no malloc.
[[noreturn]] __attribute__((noinline)) void child(Plan* p) {
  // Every disposition that is not the default back to it, glibc's internal
  // signals included (posix_spawn leaves those ignored, and SIG_IGN survives
  // exec). All signals are still blocked here: spawner threads run with a
  // full mask.
  unsigned long dfl[4] = {0, 0, 0, 0};  // kernel struct sigaction, SIG_DFL
  for (int i = 0; i < p->sigs.n; i++) syscall(SYS_rt_sigaction, long(p->sigs.sig[i]), dfl, nullptr, 8);
  if ((p->flags & SPAWN_SESSION) && syscall(SYS_setsid) < 0) goto fail;
  if (p->flags & SPAWN_IGN_HPA) {
    unsigned long ign[4] = {reinterpret_cast<unsigned long>(SIG_IGN), 0, 0, 0};
    syscall(SYS_rt_sigaction, long(SIGHUP), ign, nullptr, 8);
    syscall(SYS_rt_sigaction, long(SIGPIPE), ign, nullptr, 8);
    syscall(SYS_rt_sigaction, long(SIGALRM), ign, nullptr, 8);
  }
  if (p->pidSlot) {
    // Its own pid, in decimal, into the room the parent reserved (the
    // parent waits in vfork: nobody else reads this memory meanwhile).
    char digits[PID_ROOM];
    size_t n = 0;
    for (unsigned long v = (unsigned long)syscall(SYS_getpid); n < PID_ROOM && (n == 0 || v != 0); v /= 10) digits[n++] = char('0' + v % 10);
    for (size_t i = 0; i < n; i++) p->pidSlot[i] = digits[n - 1 - i];
    p->pidSlot[n] = 0;
  }
  {
    // The socket on 0 first; from then on fd 0 is its source (the socket may
    // have been 1). fd 1 is the socket, or with SPAWN_FD1_STDERR the
    // server's fd 2, which is untouched until fd 2 is set last: the socket
    // with SPAWN_FD2, else the server's own, minus the close-on-exec Node
    // gave it.
    if (p->fd == 0) syscall(SYS_fcntl, 0, F_SETFD, 0);
    else if (syscall(SYS_dup3, p->fd, 0, 0) < 0) goto fail;
    if (syscall(SYS_dup3, (p->flags & SPAWN_FD1_STDERR) ? 2 : 0, 1, 0) < 0) goto fail;
    if (p->flags & SPAWN_FD2) {
      if (syscall(SYS_dup3, 0, 2, 0) < 0) goto fail;
    } else {
      syscall(SYS_fcntl, 2, F_SETFD, 0);
    }
  }
  // Raw calls change this process alone (glibc's would signal every thread
  // of the server): groups and gid first, the uid last.
  if (!p->gids->empty()) {
    if (syscall(SYS_setgroups, long(p->gids->size()), p->gids->data()) < 0) goto fail;
    if (syscall(SYS_setgid, long((*p->gids)[0])) < 0) goto fail;
  }
  if (p->uid >= 0 && syscall(SYS_setuid, p->uid) < 0) goto fail;
  // Node's fds are close-on-exec, but the server may have inherited others
  // from its parent: the service gets 0, 1 and 2, nothing else.
  syscall(SYS_close_range, 3, ~0U, 0);
  {
    unsigned long none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, 8);
  }
  {
    // The originals' rules (djb's pathexec_run, which tcpserver and tcpsvd
    // run prog with), not execvp's: a name with a '/' is tried once and its
    // error is the error (ENOTDIR, ELOOP, ENAMETOOLONG as they are); along
    // $PATH a missing file goes on to the next entry, EACCES, EPERM and
    // EISDIR are remembered and the search goes on, any other error ends it.
    // Never a shell for a file the kernel cannot run (ENOEXEC).
    int saved = ENOENT;
    for (const std::string& path : p->paths) {
      syscall(SYS_execve, path.c_str(), p->argv, p->envp);
      int e = errno;
      if (e == ENOENT) continue;
      saved = e;
      if (e != EACCES && e != EPERM && e != EISDIR) break;
    }
    p->err = saved;
    syscall(SYS_exit, 127);
  }
fail:
  p->err = errno;
  syscall(SYS_exit, 127);
  __builtin_unreachable();
}

// Where execvp would look for name: itself when it holds a '/', else each
// $PATH entry (an empty entry meaning the current directory).
void candidates(const char* name, std::vector<std::string>& out) {
  if (strchr(name, '/')) {
    out.emplace_back(name);
    return;
  }
  const char* path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  for (const char* d = path;; d++) {
    const char* e = strchr(d, ':');
    size_t n = e ? size_t(e - d) : strlen(d);
    std::string c(d, n);
    if (n) c += '/';
    c += name;
    out.push_back(std::move(c));
    if (!e) break;
    d = e;
  }
}

// vfork, not posix_spawn: the same no-copy clone, but the child can reset
// every signal and no stack is mapped per call.
int spawnPlan(Plan* p, pid_t* pid) {
  p->err = 0;
  pid_t c = vfork();
  if (c == 0) child(p);
  if (c < 0) return errno;
  if (p->err) {  // the child never exec'd: reap it here, it is no service
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
    return p->err;
  }
  *pid = c;
  return 0;
}

// solo: spawned on the main thread with no other child live: watched by
// pidfd on the main loop rather than by the reaper thread, where it can be.
void spawnOne(Request* r, bool solo = false) {
  std::vector<char*> argv, envp;
  size_t nbase = r->base ? r->base->vars.size() : 0;
  argv.reserve(r->argc + 1);
  envp.reserve(nbase + r->envc + 1);
  if (r->base) envp.assign(r->base->vars.begin(), r->base->vars.end());
  for (char *p = &r->argv[0], *end = p + r->argv.size(); p < end; p += strlen(p) + 1) argv.push_back(p);
  for (char *p = &r->env[0], *end = p + r->env.size(); p < end; p += strlen(p) + 1) envp.push_back(p);
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  // An embedded NUL would silently split an argument or variable: refuse it.
  int err = 0;
  if (argv.size() != size_t(r->argc) + 1 || envp.size() != nbase + size_t(r->envc) + 1 || r->argc < 1 ||
      r->path.find('\0') != std::string::npos)
    err = EINVAL;

  pid_t pid = -1;
  // libuv made the socket non-blocking; services expect blocking stdio, as
  // every inetd gives it. The flag belongs to the open file, shared with the
  // child, so it is cleared here and put back only if no child got it.
  // (A socket we own came from accept4 without SOCK_NONBLOCK: nothing to do.)
  int flags = r->owned ? 0 : fcntl(r->fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(r->fd, F_SETFL, flags & ~O_NONBLOCK);
  if (!err) {
    Plan plan;
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.fd = r->fd;
    plan.flags = r->flags;
    plan.uid = r->uid;
    plan.gids = &r->gids;
    plan.pidSlot = nullptr;
    if ((r->flags & SPAWN_PIDVAR) && r->pidVar >= 0 && size_t(r->pidVar) < size_t(r->envc)) {
      char* v = envp[nbase + r->pidVar];
      char* eq = strchr(v, '=');
      if (eq && strlen(eq + 1) >= PID_ROOM) plan.pidSlot = eq + 1;
      else err = EINVAL;
    }
    dispositions(&plan.sigs);
    if (!r->path.empty()) plan.paths.push_back(r->path);
    else candidates(argv[0], plan.paths);
    if (!err) err = spawnPlan(&plan, &pid);
  }
  int32_t id = r->id;
  bool lazy = r->lazy;
  if (r->owned) close(r->fd);
  else if (err && flags >= 0 && (flags & O_NONBLOCK)) fcntl(r->fd, F_SETFL, flags);
  delete r;
  if (err) {
    post({STARTED, id, -err, 0});
    return;
  }
  // STARTED is posted before the reaper may know the child, so it always
  // precedes EXITED.
  post({STARTED, id, pid, 0}, !lazy);
  if (solo && state->epfd >= 0) {
    int pfd = int(syscall(SYS_pidfd_open, pid, 0));
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (pfd >= 0 && epoll_ctl(state->epfd, EPOLL_CTL_ADD, pfd, &ev) == 0) {
      state->soloFd = pfd;
      state->soloId = id;
      state->solo.store(pid);
      return;
    }
    if (pfd >= 0) close(pfd);
  }
  {
    std::lock_guard<std::mutex> g(state->clock);
    state->children.emplace(pid, id);
  }
  state->ccond.notify_one();
}

void* spawner(void*) {
  for (;;) {
    Request* r;
    {
      std::unique_lock<std::mutex> g(state->qlock);
      state->qcond.wait(g, [] { return !state->queue.empty(); });
      r = state->queue.front();
      state->queue.pop_front();
    }
    spawnOne(r);
    std::lock_guard<std::mutex> g(state->qlock);
    state->spawning--;
  }
  return nullptr;
}

// With clock held: reap a listed child that has exited (it is a zombie:
// waitpid does not block) and queue its event before clock is released, so
// that a child missing from the list always has its event queued.
void reapLocked(std::unordered_map<pid_t, int32_t>::iterator it) {
  pid_t pid = it->first;
  int32_t id = it->second;
  state->children.erase(it);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  Event ev{EXITED, id, WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0};
  std::lock_guard<std::mutex> e(state->elock);
  if (state->closing) return;
  state->events.push_back(ev);
  wakeLocked();
}

void* reaper(void*) {
  std::vector<Event> done;
  for (;;) {
    {
      std::unique_lock<std::mutex> g(state->clock);
      state->ccond.wait(g, [] { return !state->children.empty(); });
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    // WNOWAIT: look first; a zombie that is not ours yet (a spawner has not
    // registered it, or it never exec'd and its spawner reaps it) is left.
    int rc = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
    if (rc < 0) {
      if (errno == EINTR) continue;
      // ECHILD with children listed: reaped behind our back (SIGCHLD set to
      // SIG_IGN by someone); their status is unknown, but they are gone.
      std::unique_lock<std::mutex> g(state->clock);
      // Asked again with clock held: LaunchReapNow() may have taken the last
      // child after the wait above, and a spawner listed a new one since.
      // Every child listed now has been forked: unless reaped behind our
      // back, waitid sees it.
      memset(&si, 0, sizeof si);
      if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0) continue;
      done.clear();
      for (const auto& c : state->children) done.push_back({EXITED, c.second, -1, 0});
      state->children.clear();
      g.unlock();
      std::lock_guard<std::mutex> e(state->elock);
      if (state->closing) continue;
      state->events.insert(state->events.end(), done.begin(), done.end());
      wakeLocked();
      continue;
    }
    if (si.si_pid == 0) continue;
    std::unique_lock<std::mutex> g(state->clock);
    auto it = state->children.find(si.si_pid);
    if (it == state->children.end()) {
      // Its spawner is about to list it or to reap it, or LaunchReapNow() took
      // it: wait for that.
      state->ccond.wait_for(g, std::chrono::milliseconds(1));
      continue;
    }
    // With clock held until its event is posted: see LaunchReapNow().
    reapLocked(it);
  }
  return nullptr;
}

// Main thread: reaps the solo child if it has exited (false if not yet),
// and queues its event.
bool reapSolo() {
  pid_t pid = state->solo.load();
  if (pid == 0) return false;
  int st = 0;
  pid_t r;
  while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR) {}
  if (r == 0) return false;
  epoll_ctl(state->epfd, EPOLL_CTL_DEL, state->soloFd, nullptr);
  close(state->soloFd);
  state->soloFd = -1;
  state->solo.store(0);
  // r < 0 (ECHILD): reaped behind our back; its status is unknown.
  Event ev{EXITED, state->soloId, r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1,
           r > 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0};
  std::lock_guard<std::mutex> e(state->elock);
  if (!state->closing) state->events.push_back(ev);
  return true;
}

void drain(uv_async_t*);

// Main loop: our epoll set is readable: the solo child has exited.
void onSoloExit(uv_poll_t*, int, int) {
  epoll_event evs[4];
  epoll_wait(state->epfd, evs, 4, 0);  // level-triggered: only to be told, nothing to consume
  if (reapSolo()) drain(nullptr);
}

// Main thread: hand every pending event to JavaScript in one call.
void drain(uv_async_t*) {
  std::vector<Event> batch;
  {
    std::lock_guard<std::mutex> g(state->elock);
    batch.swap(state->events);
    state->signaled = false;
  }
  if (batch.empty()) return;
  for (const Event& e : batch)
    if (e.kind == EXITED || e.a < 0) state->outstanding--;
  if (state->outstanding == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&state->async));

  napi_env env = state->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  void* data;
  napi_value ab, arr;
  size_t bytes = batch.size() * sizeof(Event);
  napi_create_arraybuffer(env, bytes, &data, &ab);
  memcpy(data, batch.data(), bytes);
  napi_create_typedarray(env, napi_int32_array, batch.size() * 4, ab, 0, &arr);
  CallFromLoop(env, state->context, state->resource, state->callback, 1, &arr);
  napi_close_handle_scope(env, scope);
}

void cleanup(void*) {
  {
    std::lock_guard<std::mutex> g(state->elock);
    state->closing = true;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&state->async), nullptr);
  if (state->epfd >= 0) uv_close(reinterpret_cast<uv_handle_t*>(&state->epPoll), nullptr);
}

bool startThread(void* (*fn)(void*)) { return StartThread(fn, nullptr, 256 * 1024); }

// launchSetup(callback): start the spawner and reaper threads once.
Napi::Value Setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state) {
    Napi::Error::New(env, "launchSetup: already set up").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "launchSetup(callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  state = new State();
  state->env = env;
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  uv_async_init(loop, &state->async, drain);
  uv_unref(reinterpret_cast<uv_handle_t*>(&state->async));
  napi_create_reference(env, info[0], 1, &state->callback);
  Napi::Object resource = Napi::Object::New(env);
  napi_create_reference(env, resource, 1, &state->resource);
  napi_async_init(env, resource, Napi::String::New(env, "ucspi-launch"), &state->context);
  napi_add_env_cleanup_hook(env, cleanup, nullptr);
  state->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (state->epfd >= 0) {
    uv_poll_init(loop, &state->epPoll, state->epfd);
    uv_poll_start(&state->epPoll, UV_READABLE, onSoloExit);
    uv_unref(reinterpret_cast<uv_handle_t*>(&state->epPoll));
  }

  // Several spawners: each posix_spawn blocks its thread until the child has
  // exec'd, so one thread would serialise the exec's of concurrent clients.
  if (const char* s = getenv("UCSPI_SPAWN_INLINE")) state->inlineMode = atoi(s) ? 1 : 0;
  int threads = 3;
  if (const char* s = getenv("UCSPI_SPAWN_THREADS")) {
    int n = atoi(s);
    if (n >= 1 && n <= 64) threads = n;
  }
  bool ok = startThread(reaper);
  for (int i = 0; i < threads && ok; i++) ok = startThread(spawner);
  if (!ok) {
    Napi::Error::New(env, "launchSetup: cannot start threads").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// An environment string is a byte string: one char per byte (latin1), so
// that values from rules files reach prog byte for byte.
bool copyBytes(napi_env env, napi_value v, std::string& out) {
  size_t len;
  if (napi_get_value_string_latin1(env, v, nullptr, 0, &len) != napi_ok) return false;
  out.resize(len + 1);
  napi_get_value_string_latin1(env, v, &out[0], len + 1, &len);
  return true;  // out keeps the terminating NUL, as copyString
}

bool copyString(napi_env env, napi_value v, std::string& out) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
  out.resize(len + 1);
  napi_get_value_string_utf8(env, v, &out[0], len + 1, &len);
  return true;  // out keeps the terminating NUL: the last string ends in it
}

// launchTemplate(env, envc) -> handle: keep an environment (NUL-joined and
// NUL-terminated) for launchSpawn to start from; -1 if it holds a stray NUL.
napi_value MakeTemplate(napi_env env, napi_callback_info info) {
  size_t n = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &n, a, nullptr, nullptr);
  Template* t = new Template();
  int32_t envc = -1;
  napi_value result;
  if (n < 2 || !copyBytes(env, a[0], t->text) || napi_get_value_int32(env, a[1], &envc) != napi_ok) {
    delete t;
    napi_throw_type_error(env, nullptr, "launchTemplate(env, envc)");
    return nullptr;
  }
  t->text.pop_back();  // copyString's NUL; the joined text ends in its own
  for (char *p = &t->text[0], *end = p + t->text.size(); p < end; p += strlen(p) + 1) t->vars.push_back(p);
  if (t->vars.size() != size_t(envc)) {
    delete t;
    napi_create_int32(env, -1, &result);
    return result;
  }
  templates.push_back(t);
  napi_create_int32(env, int32_t(templates.size() - 1), &result);
  return result;
}

// launchSpawn(argv, argc, env, envc, fd, id, owned, lazy, base[, path, flags,
// uid, gids[, pidVar]]): argv and env
// are NUL-joined and NUL-terminated; owned: fd is closed here after the
// spawn; lazy: the STARTED event of a success may wait for the next wake-up;
// base: a launchTemplate handle the environment starts with, or -1; path:
// the file executed ("": argv[0], searched in $PATH), flags: SPAWN_*, uid:
// -1 or the user, gids: the groups (gids[0] the gid) or none.
// The result arrives later through the setup callback.
napi_value Spawn(napi_env env, napi_callback_info info) {
  size_t n = 14;
  napi_value a[14];
  napi_get_cb_info(env, info, &n, a, nullptr, nullptr);
  if (!state || n < 9) {
    napi_throw_error(env, nullptr, "launchSpawn: not set up or bad arguments");
    return nullptr;
  }
  Request* r = new Request();
  int32_t argc, envc, fd, id;
  if (!copyString(env, a[0], r->argv) || !copyBytes(env, a[2], r->env) ||
      napi_get_value_int32(env, a[1], &argc) != napi_ok || napi_get_value_int32(env, a[3], &envc) != napi_ok ||
      napi_get_value_int32(env, a[4], &fd) != napi_ok || napi_get_value_int32(env, a[5], &id) != napi_ok) {
    delete r;
    napi_throw_type_error(env, nullptr, "launchSpawn(argv, argc, env, envc, fd, id, owned, lazy, base)");
    return nullptr;
  }
  bool owned = false, lazy = false;
  int32_t base = -1;
  napi_get_value_bool(env, a[6], &owned);
  napi_get_value_bool(env, a[7], &lazy);
  napi_get_value_int32(env, a[8], &base);
  if (n >= 13) {
    // inetd's and udpsvd's: (..., path, flags, uid, gids)
    int32_t flags = 0;
    int64_t uid = -1;
    uint32_t ng = 0;
    bool isArray = false;
    napi_is_array(env, a[12], &isArray);
    if (!copyString(env, a[9], r->path) || napi_get_value_int32(env, a[10], &flags) != napi_ok ||
        napi_get_value_int64(env, a[11], &uid) != napi_ok || !isArray || napi_get_array_length(env, a[12], &ng) != napi_ok ||
        ng > 65536) {
      delete r;
      napi_throw_type_error(env, nullptr, "launchSpawn(..., base, path, flags, uid, gids)");
      return nullptr;
    }
    r->path.pop_back();  // copyString's NUL
    r->flags = flags;
    // unixserver's: (..., gids, pidVar): the index in env of the variable
    // that gets the child's pid (SPAWN_PIDVAR), its value PID_ROOM bytes of room.
    if (n >= 14) napi_get_value_int32(env, a[13], &r->pidVar);
    r->uid = uid < 0 ? -1 : long(uid);
    for (uint32_t i = 0; i < ng; i++) {
      napi_value g;
      int64_t v = -1;
      napi_get_element(env, a[12], i, &g);
      if (napi_get_value_int64(env, g, &v) != napi_ok || v < 0 || v > 0xfffffffeLL) {
        delete r;
        napi_throw_range_error(env, nullptr, "launchSpawn: a group id out of range");
        return nullptr;
      }
      r->gids.push_back(gid_t(v));
    }
  }
  if (base >= int32_t(templates.size())) {
    delete r;
    napi_throw_range_error(env, nullptr, "launchSpawn: no such template");
    return nullptr;
  }
  r->base = base >= 0 ? templates[base] : nullptr;
  // copyString kept a terminating NUL; the joined strings already end in one.
  r->argv.pop_back();
  r->env.pop_back();
  r->argc = argc;
  r->envc = envc;
  r->fd = fd;
  r->owned = owned;
  r->lazy = lazy;
  r->id = id;
  if (state->outstanding++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&state->async));
  // When no other child is live, queued or being spawned, this one is done
  // here, on the main thread: handing it to a spawner costs a wake-up of
  // another thread (tens of microseconds) on the path of every client at
  // low concurrency, and the main loop has nothing else to do meanwhile.
  // With other clients being served the spawners take them, so that the
  // loop keeps accepting while children are being exec'd (spawning every
  // client here halves the rate at 8 concurrent clients).
  {
    std::lock_guard<std::mutex> g(state->qlock);
    if (state->inlineMode == 0 || state->spawning > 0 || state->outstanding > 1) {
      state->spawning++;
      state->queue.push_back(r);
      r = nullptr;
    }
  }
  if (!r) {
    state->qcond.notify_one();
    return nullptr;
  }
  // No handler of Node's may run in the vfork child, which shares our
  // memory until exec: every signal is blocked around it, as the spawner
  // threads always have them (the child unblocks them before exec).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  spawnOne(r, state->solo.load() == 0);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return nullptr;
}

}  // namespace

// Main thread: the children that have already exited are reaped and their
// events handed to JavaScript now, not when the reaper thread gets to them.
// The accept path calls it before the clients it accepted reach the engine:
// the originals reap in their SIGCHLD handler before accept(2) returns, so a
// child that ended before a client came is logged (end, status) before that
// client's status line. One waitid(2) when nothing has exited.
void LaunchReapNow() {
  if (!state) return;
  reapSolo();
  {
    std::lock_guard<std::mutex> g(state->clock);
    while (!state->children.empty()) {
      siginfo_t si;
      memset(&si, 0, sizeof si);
      if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0) break;
      auto it = state->children.find(si.si_pid);
      // Not listed (yet): its spawner reaps it, or lists it and the reaper
      // thread takes it (or it is the solo child, reaped above if it had
      // exited). waitid shows one zombie at a time: stop here.
      if (it == state->children.end()) break;
      reapLocked(it);
    }
  }
  // Every child missing from the list now has its event queued.
  drain(nullptr);
}

void InitLaunch(Napi::Env env, Napi::Object exports) {
  exports.Set("launchSetup", Napi::Function::New(env, Setup, "launchSetup"));
  napi_value fn;
  napi_create_function(env, "launchSpawn", NAPI_AUTO_LENGTH, Spawn, nullptr, &fn);
  exports.Set("launchSpawn", fn);
  napi_create_function(env, "launchTemplate", NAPI_AUTO_LENGTH, MakeTemplate, nullptr, &fn);
  exports.Set("launchTemplate", fn);
}
