// The native accept path: the listening socket is polled on the main loop and
// accepted here, so the server holds no libuv stream or net.Socket per client,
// and -c is kept as the originals keep it: at the limit the socket is simply
// not polled, and further clients wait in the kernel's backlog.
//
// Any number of listening sockets may be accepted from at once, each with its
// own acceptor (a handle; tcpsvd and tcpserver have one, inetd one per
// stream line), -c budget, buffer and callback.
//
// JavaScript gets each batch of accepted clients in one call, as 12 int32 per
// client in a buffer allocated once: [fd, families, remote port, local port,
// remote address (4 words), local address (4 words)], addresses in network
// byte order, families = remote (4 or 6) | local << 8. IPv4-mapped addresses are reported as IPv4.
// A UNIX-domain client (listenUnix) is [fd, families = 1 | 1 << 8, peer pid,
// 0, peer uid, peer gid, 1 if SO_PEERCRED answered else 0, 0 ...]: the
// credentials the kernel recorded when the client connected. A failed accept(2)
// is reported as fd = -errno, and polling pauses for a moment (EMFILE would
// otherwise spin).
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <stddef.h>
#include <uv.h>

#include <cerrno>
#include <string>
#include <vector>

// native/launch.cc: reaps the children that have already exited and hands
// their events to JavaScript (a no-op before launchSetup).
void LaunchReapNow();

namespace {

constexpr int WORDS = 12;      // int32 per accepted client
constexpr int BATCH = 64;      // clients per call into JavaScript
constexpr int PAUSE_MS = 100;  // after an accept(2) error other than EAGAIN
// Descriptors kept free for the clients already accepted (DNS and ident
// sockets, rules files): a client accepted at a descriptor this close to the
// limit is served, but accepting pauses as after EMFILE, and the others wait
// in the backlog. Otherwise clients could take every descriptor and then all
// fail their lookups.
constexpr int RESERVE = 8;

struct Acceptor {
  napi_env env = nullptr;
  int fd = -1;
  uv_poll_t poll;
  uv_timer_t timer;
  bool polling = false;
  bool paused = false;  // waiting for the timer after an error
  bool noDelay = false;
  bool unixDomain = false;  // AF_UNIX: peer credentials instead of addresses
  // Bound to one address: every client's local address is that one, so no
  // getsockname(2) per client (only a wildcard bind needs it).
  bool fixedLocal = false;
  sockaddr_storage local;
  long budget = 0;      // clients we may still accept (-c minus live ones)
  long fdLimit = 0;     // the soft RLIMIT_NOFILE when accepting started
  int32_t* words = nullptr;
  napi_ref buffer = nullptr;
  napi_ref callback = nullptr;
  napi_ref resource = nullptr;
  napi_async_context context = nullptr;
  int32_t handle = -1;
  bool closed = false;
  int closing = 0;  // handles (poll, timer) whose close callback is still to come
};

// handle -> acceptor; a closed one's slot is null (handles are not reused).
std::vector<Acceptor*> acceptors;

Acceptor* byHandle(napi_env env, napi_value v) {
  int32_t h = -1;
  if (v) napi_get_value_int32(env, v, &h);
  return h >= 0 && size_t(h) < acceptors.size() ? acceptors[h] : nullptr;
}

// The address as 4 words in network order; IPv4 (and IPv4-mapped) in word 0.
int putAddr(const sockaddr_storage& ss, int32_t* w, int32_t* port) {
  memset(w, 0, 16);
  if (ss.ss_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&ss);
    memcpy(w, &a->sin_addr, 4);
    *port = ntohs(a->sin_port);
    return 4;
  }
  if (ss.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    *port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      memcpy(w, reinterpret_cast<const uint8_t*>(&a->sin6_addr) + 12, 4);
      return 4;
    }
    memcpy(w, &a->sin6_addr, 16);
    return 6;
  }
  *port = 0;
  return 0;
}

void onReadable(uv_poll_t* h, int status, int events);

// A UNIX-domain client's words: its fd, the family 1, and who connected.
void acceptedUnix(int c, int32_t* r) {
  memset(r, 0, WORDS * sizeof(int32_t));
  r[0] = c;
  r[1] = 1 | (1 << 8);
  struct ucred cr;
  socklen_t cl = sizeof cr;
  if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0) {
    r[2] = int32_t(cr.pid);
    r[4] = int32_t(cr.uid);
    r[5] = int32_t(cr.gid);
    r[6] = 1;
  }
}

void startPolling(Acceptor* acc) {
  if (acc->closed || acc->polling || acc->paused || acc->budget <= 0) return;
  uv_poll_start(&acc->poll, UV_READABLE, onReadable);
  acc->polling = true;
}

void stopPolling(Acceptor* acc) {
  if (!acc->polling) return;
  uv_poll_stop(&acc->poll);
  acc->polling = false;
}

void deliver(Acceptor* acc, int n) {
  napi_env env = acc->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2];
  napi_get_reference_value(env, acc->buffer, &argv[0]);
  napi_create_int32(env, n, &argv[1]);
  CallFromLoop(env, acc->context, acc->resource, acc->callback, 2, argv);
  napi_close_handle_scope(env, scope);
}

void onTimer(uv_timer_t* t) {
  Acceptor* acc = static_cast<Acceptor*>(t->data);
  acc->paused = false;
  startPolling(acc);
}

void onReadable(uv_poll_t* h, int status, int) {
  Acceptor* acc = static_cast<Acceptor*>(h->data);
  int n = 0;
  int32_t* w = acc->words;
  bool failed = false;
  if (status < 0) {  // the poll itself failed: report it as an accept error
    w[0] = status;
    n = 1;
    failed = true;
  }
  while (!failed && acc->budget > 0 && n < BATCH) {
    sockaddr_storage peer, local;
    socklen_t plen = sizeof peer, llen = sizeof local;
    // Blocking, close-on-exec: prog gets a plain blocking socket as inetd gives it.
    int c = accept4(acc->fd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC);
    if (c < 0) {
      int e = errno;
      if (e == EINTR || e == ECONNABORTED) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      w[n * WORDS] = -e;
      n++;
      failed = true;
      break;
    }
    int32_t* r = w + n * WORDS;
    if (acc->unixDomain) {
      acceptedUnix(c, r);
      acc->budget--;
      n++;
      if (c + RESERVE >= acc->fdLimit) {
        failed = true;
        break;
      }
      continue;
    }
    if (acc->fixedLocal) local = acc->local;
    else if (getsockname(c, reinterpret_cast<sockaddr*>(&local), &llen) < 0) local.ss_family = AF_UNSPEC;
    if (acc->noDelay) {
      int one = 1;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    r[0] = c;
    r[1] = putAddr(peer, r + 4, &r[2]) | (putAddr(local, r + 8, &r[3]) << 8);
    acc->budget--;
    n++;
    if (c + RESERVE >= acc->fdLimit) {
      failed = true;  // not an error to report: just the pause
      break;
    }
  }
  // Children that ended before these clients came are accounted first (their
  // end and status lines, and the -c slots they free), as the originals'
  // SIGCHLD handler does before accept(2) returns.
  if (n > 0) LaunchReapNow();
  if (acc->budget <= 0) stopPolling(acc);
  if (failed) {
    stopPolling(acc);
    acc->paused = true;
    uv_timer_start(&acc->timer, onTimer, PAUSE_MS, 0);
  }
  if (n > 0) deliver(acc, n);
}

// Starts accepting on the listening fd (non-blocking, from listenTcp): the
// new acceptor, or null with a JavaScript exception pending.
Acceptor* Open(const Napi::CallbackInfo& info, const char* usage) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[3].IsFunction()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return nullptr;
  }
  Acceptor* acc = new Acceptor();
  acc->env = env;
  acc->fd = info[0].As<Napi::Number>().Int32Value();
  acc->budget = info[1].As<Napi::Number>().Int64Value();
  acc->noDelay = info[2].ToBoolean().Value();
  struct rlimit rl;
  acc->fdLimit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rlim_t(1) << 30 ? long(rl.rlim_cur) : 1L << 30;
  socklen_t blen = sizeof acc->local;
  if (getsockname(acc->fd, reinterpret_cast<sockaddr*>(&acc->local), &blen) == 0) {
    acc->unixDomain = acc->local.ss_family == AF_UNIX;
    const sockaddr_in* a4 = reinterpret_cast<const sockaddr_in*>(&acc->local);
    const sockaddr_in6* a6 = reinterpret_cast<const sockaddr_in6*>(&acc->local);
    acc->fixedLocal = (acc->local.ss_family == AF_INET && a4->sin_addr.s_addr != htonl(INADDR_ANY)) ||
                      (acc->local.ss_family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr));
  }
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, &acc->poll, acc->fd);
  if (rc < 0) {
    delete acc;
    ThrowErrno(env, "uv_poll_init", -rc);
    return nullptr;
  }
  // Referenced: while accept(2) pauses after an error (EMFILE with no child
  // left), the pending retry is what keeps the server alive and listening.
  uv_timer_init(loop, &acc->timer);
  acc->poll.data = acc;
  acc->timer.data = acc;
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, BATCH * WORDS * sizeof(int32_t));
  acc->words = static_cast<int32_t*>(ab.Data());
  Napi::Int32Array arr = Napi::Int32Array::New(env, BATCH * WORDS, ab, 0);
  napi_create_reference(env, arr, 1, &acc->buffer);
  napi_create_reference(env, info[3], 1, &acc->callback);
  Napi::Object resource = Napi::Object::New(env);
  napi_create_reference(env, resource, 1, &acc->resource);
  napi_async_init(env, resource, Napi::String::New(env, "ucspi-accept"), &acc->context);
  acc->handle = int32_t(acceptors.size());
  acceptors.push_back(acc);
  startPolling(acc);
  return acc;
}

// acceptSetup(fd, budget, noDelay, callback(words, count)) -> Int32Array:
// the server's one acceptor (tcpsvd, tcpserver), handle 0.
Napi::Value Setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!acceptors.empty()) {
    Napi::Error::New(env, "acceptSetup: already set up").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Acceptor* acc = Open(info, "acceptSetup(fd, budget, noDelay, callback)");
  if (!acc) return env.Undefined();
  napi_value arr;
  napi_get_reference_value(env, acc->buffer, &arr);
  return Napi::Value(env, arr);
}

// acceptOpen(fd, budget, noDelay, callback(words, count)) -> handle: one more
// acceptor, beside any others (inetd: one per stream line).
Napi::Value OpenOne(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Acceptor* acc = Open(info, "acceptOpen(fd, budget, noDelay, callback)");
  if (!acc) return env.Undefined();
  return Napi::Number::New(env, acc->handle);
}

// Each closed handle's callback: the acceptor (which holds both handles) is
// freed after the last one. libuv runs close callbacks in no promised order
// (the timer's, closed second, comes first): freeing at the timer's would
// leave the poll handle's close to run in freed memory.
void freeAcceptor(uv_handle_t* h) {
  Acceptor* acc = static_cast<Acceptor*>(h->data);
  if (--acc->closing > 0) return;
  napi_env env = acc->env;
  napi_delete_reference(env, acc->buffer);
  napi_delete_reference(env, acc->callback);
  napi_delete_reference(env, acc->resource);
  napi_async_destroy(env, acc->context);
  delete acc;
}

// acceptClose(handle): stops accepting and forgets the acceptor; the
// listening socket stays open, the caller's to close (after this call).
napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1] = {nullptr};
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Acceptor* acc = argc >= 1 ? byHandle(env, a[0]) : nullptr;
  if (!acc) return nullptr;
  acceptors[acc->handle] = nullptr;
  acc->closed = true;
  stopPolling(acc);
  uv_timer_stop(&acc->timer);
  // Closing the poll handle also drops the fd from libuv's epoll set, so the
  // caller may close it at once.
  acc->closing = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&acc->poll), freeAcceptor);
  uv_close(reinterpret_cast<uv_handle_t*>(&acc->timer), freeAcceptor);
  return nullptr;
}

// acceptMore(n, handle = 0): n more clients may be accepted (connections that ended).
napi_value More(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2] = {nullptr, nullptr};
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  int32_t n = 1;
  if (argc >= 1) napi_get_value_int32(env, a[0], &n);
  Acceptor* acc = argc >= 2 ? byHandle(env, a[1]) : (acceptors.empty() ? nullptr : acceptors[0]);
  if (acc) {
    acc->budget += n;
    startPolling(acc);
  }
  return nullptr;
}

// listenTcp(ip, port, backlog, v6only = false) -> [fd, boundPort]: a
// non-blocking listening socket, SO_REUSEADDR as ucspi-tcp and ipsvd bind;
// "::" also takes IPv4 unless v6only (inetd's tcp6 lines).
Napi::Value ListenTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "listenTcp(ip, port, backlog)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ip = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int backlog = info[2].As<Napi::Number>().Int32Value();
  bool v6only = info.Length() >= 4 && info[3].ToBoolean().Value();
  sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int family;
  sockaddr_in* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  sockaddr_in6* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &a4->sin_addr) == 1) {
    family = a4->sin_family = AF_INET;
    a4->sin_port = htons(uint16_t(port));
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, ip.c_str(), &a6->sin6_addr) == 1) {
    family = a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(uint16_t(port));
    len = sizeof *a6;
  } else {
    return ThrowErrno(env, "bind", EINVAL);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof zero);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, "bind", e);
  }
  if (listen(fd, backlog) < 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, "listen", e);
  }
  socklen_t blen = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &blen);
  int bound = family == AF_INET ? ntohs(a4->sin_port) : ntohs(a6->sin6_port);
  Napi::Array r = Napi::Array::New(env, 2);
  r.Set(0u, Napi::Number::New(env, fd));
  r.Set(1u, Napi::Number::New(env, bound));
  return r;
}

// adoptTcp(fd) -> [fd, boundPort, address text]: a listening socket passed in
// (systemd's socket activation) instead of one bound here. It must be a
// listening TCP socket; it is made non-blocking and close-on-exec, as
// listenTcp's own, and accepted from exactly as those are.
Napi::Value AdoptTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "adoptTcp(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int type = 0, listening = 0;
  socklen_t tl = sizeof type, ll = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0) return ThrowErrno(env, "getsockopt", errno);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0) return ThrowErrno(env, "getsockopt", errno);
  sockaddr_storage ss;
  socklen_t blen = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &blen) < 0) return ThrowErrno(env, "getsockname", errno);
  if (type != SOCK_STREAM || !listening || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
    return ThrowErrno(env, "listen", ENOTSOCK);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return ThrowErrno(env, "fcntl", errno);
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return ThrowErrno(env, "fcntl", errno);
  char text[INET6_ADDRSTRLEN] = "";
  int port;
  if (ss.ss_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  }
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, Napi::Number::New(env, fd));
  r.Set(1u, Napi::Number::New(env, port));
  r.Set(2u, Napi::String::New(env, text));
  return r;
}

// The path as a sockaddr_un of exactly its length (108 bytes fit, without a
// NUL, as the kernel takes them); false for a longer one.
bool unixAddress(const std::string& path, sockaddr_un* a, socklen_t* len) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (path.size() > sizeof a->sun_path) return false;
  memcpy(a->sun_path, path.data(), path.size());
  *len = socklen_t(offsetof(sockaddr_un, sun_path) + path.size());
  return true;
}

// listenUnix(path, backlog, mask = 0, uid = -1, gid = -1, mode = 0) -> fd:
// a non-blocking listening UNIX-domain stream socket at path, in
// ucspi-unix's order: bind under umask(mask) (the previous mask restored),
// lchown(uid, gid) (-1 keeps one), chmod(mode) unless 0, and only then
// listen, so that no client connects before the owner and mode are set.
// The path must be free (the caller removes a stale socket). Throws with
// the failing call's name; a socket file bound before the failure is left to
// the caller (ucspi-unix removes it unless -d).
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "listenUnix(path, backlog[, mask, uid, gid, mode])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int backlog = info[1].As<Napi::Number>().Int32Value();
  auto num = [&](size_t i, int64_t dflt) -> int64_t {
    return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int64Value() : dflt;
  };
  mode_t mask = mode_t(num(2, 0) & 07777);
  int64_t uid = num(3, -1), gid = num(4, -1), mode = num(5, 0);
  sockaddr_un a;
  socklen_t len;
  if (path.find('\0') != std::string::npos || !unixAddress(path, &a, &len)) return ThrowErrno(env, "bind", EINVAL);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  mode_t old = umask(mask);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  int e = errno;
  umask(old);
  const char* failed = nullptr;
  if (rc < 0) failed = "bind";
  else if (lchown(path.c_str(), uid_t(uid), gid_t(gid)) < 0) failed = "chown", e = errno;
  else if (mode != 0 && chmod(path.c_str(), mode_t(mode & 07777)) < 0) failed = "chmod", e = errno;
  else if (listen(fd, backlog) < 0) failed = "listen", e = errno;
  if (failed) {
    close(fd);
    return ThrowErrno(env, failed, e);
  }
  return Napi::Number::New(env, fd);
}

// connectUnix(path, onto) -> [pid, uid, gid] of the server (-1 each when
// SO_PEERCRED does not answer): a blocking connection to the UNIX-domain
// socket at path, dup'ed onto each descriptor of onto (unixclient: 6 and
// 7) without close-on-exec; the socket's own descriptor is closed.
Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
    Napi::TypeError::New(env, "connectUnix(path, onto)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array onto = info[1].As<Napi::Array>();
  sockaddr_un a;
  socklen_t len;
  if (path.find('\0') != std::string::npos || !unixAddress(path, &a, &len)) return ThrowErrno(env, "connect", EINVAL);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  int rc;
  do rc = connect(fd, reinterpret_cast<sockaddr*>(&a), len); while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, "connect", e);
  }
  struct ucred cr;
  socklen_t cl = sizeof cr;
  bool known = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0;
  bool kept = false;
  for (uint32_t i = 0; i < onto.Length(); i++) {
    int to = onto.Get(i).ToNumber().Int32Value();
    if (to == fd) {
      fcntl(fd, F_SETFD, 0);
      kept = true;
    } else if (dup2(fd, to) < 0) {
      int e = errno;
      close(fd);
      return ThrowErrno(env, "dup2", e);
    }
  }
  if (!kept) close(fd);
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, Napi::Number::New(env, known ? double(cr.pid) : -1));
  r.Set(1u, Napi::Number::New(env, known ? double(cr.uid) : -1));
  r.Set(2u, Napi::Number::New(env, known ? double(cr.gid) : -1));
  return r;
}

// sendNow(fd, buffer) -> bytes sent or -errno: one send(2) that never waits
// (MSG_DONTWAIT) nor raises SIGPIPE; what does not fit is the caller's to drop.
Napi::Value SendNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "sendNow(fd, buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  ssize_t n;
  do n = send(fd, b.Data(), b.Length(), MSG_DONTWAIT | MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return Napi::Number::New(env, n < 0 ? -errno : double(n));
}

}  // namespace

void InitAccept(Napi::Env env, Napi::Object exports) {
  exports.Set("listenTcp", Napi::Function::New(env, ListenTcp, "listenTcp"));
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix, "listenUnix"));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix, "connectUnix"));
  exports.Set("adoptTcp", Napi::Function::New(env, AdoptTcp, "adoptTcp"));
  exports.Set("acceptSetup", Napi::Function::New(env, Setup, "acceptSetup"));
  exports.Set("acceptOpen", Napi::Function::New(env, OpenOne, "acceptOpen"));
  exports.Set("sendNow", Napi::Function::New(env, SendNow, "sendNow"));
  napi_value fn;
  napi_create_function(env, "acceptMore", NAPI_AUTO_LENGTH, More, nullptr, &fn);
  exports.Set("acceptMore", fn);
  napi_create_function(env, "acceptClose", NAPI_AUTO_LENGTH, Close, nullptr, &fn);
  exports.Set("acceptClose", fn);
}
