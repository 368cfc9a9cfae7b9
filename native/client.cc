// tcpclient's connection, as ucspi-tcp's timeoutconn makes it: a socket bound
// to the local address and port asked for, a non-blocking connect, a wait of
// at most the timeout, then the socket back in blocking mode (the program
// reads fd 6 and writes fd 7 as plain descriptors). Synchronous: tcpclient
// has nothing else to do meanwhile, and no Node socket is made for a
// descriptor that only the program will use.
#include "addon.h"

#include <cerrno>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace {

bool Ip4(const std::string& text, in_addr* out) { return inet_pton(AF_INET, text.c_str(), out) == 1; }

double NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

// tcpConnect(ip, port, localIp, localPort, timeoutMs, noDelay) -> fd
// (close-on-exec, blocking). Failures are thrown with the step as syscall:
// "socket", "bind" or "connect" (ETIMEDOUT when the time ran out).
Napi::Value TcpConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsString() ||
      !info[3].IsNumber() || !info[4].IsNumber())
    return ThrowErrno(env, "connect", EINVAL);
  struct sockaddr_in to = {}, from = {};
  to.sin_family = from.sin_family = AF_INET;
  if (!Ip4(info[0].As<Napi::String>().Utf8Value(), &to.sin_addr)) return ThrowErrno(env, "connect", EINVAL);
  if (!Ip4(info[2].As<Napi::String>().Utf8Value(), &from.sin_addr)) return ThrowErrno(env, "bind", EINVAL);
  to.sin_port = htons(static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value()));
  from.sin_port = htons(static_cast<uint16_t>(info[3].As<Napi::Number>().Uint32Value()));
  double timeout = info[4].As<Napi::Number>().DoubleValue();
  bool noDelay = info[5].ToBoolean().Value();

  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s == -1) return ThrowErrno(env, "socket", errno);
  auto fail = [&](const char* step, int err) { close(s); return ThrowErrno(env, step, err); };
  // socket_bind4, not socket_bind4_reuse: a local port in TIME_WAIT is "address already used".
  if (bind(s, reinterpret_cast<sockaddr*>(&from), sizeof from) == -1) return fail("bind", errno);
  if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) == -1) {
    if (errno != EINPROGRESS) return fail("connect", errno);
    // timeoutconn's wait: iopause polls 20 ms past the deadline (so -T0 still
    // connects where the answer is immediate), and an answer wins over the clock.
    double deadline = NowMs() + timeout;
    for (;;) {
      double left = deadline - NowMs();
      double ms = left < 0 ? 0 : left + 20;
      struct pollfd p = {s, POLLOUT, 0};
      int r = poll(&p, 1, ms > 2e9 ? 2000000000 : static_cast<int>(ms));
      if (r == -1 && errno != EINTR) return fail("connect", errno);
      if (r > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == -1) err = errno;
        if (err != 0) return fail("connect", err);
        break;
      }
      if (deadline < NowMs()) return fail("connect", ETIMEDOUT);
    }
  }
  int fl = fcntl(s, F_GETFL);
  if (fl != -1) fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
  int one = 1;
  if (noDelay) setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // if it fails, as there: bummer
  return Napi::Number::New(env, s);
}

// sockNames(fd) -> [localIp, localPort, remoteIp, remotePort] (IPv4 text).
Napi::Value SockNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowErrno(env, "getsockname", EINVAL);
  int s = info[0].As<Napi::Number>().Int32Value();
  struct sockaddr_in local = {}, remote = {};
  socklen_t len = sizeof local;
  if (getsockname(s, reinterpret_cast<sockaddr*>(&local), &len) == -1) return ThrowErrno(env, "getsockname", errno);
  len = sizeof remote;
  if (getpeername(s, reinterpret_cast<sockaddr*>(&remote), &len) == -1) return ThrowErrno(env, "getpeername", errno);
  char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &local.sin_addr, a, sizeof a);
  inet_ntop(AF_INET, &remote.sin_addr, b, sizeof b);
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::String::New(env, a));
  out.Set(1u, Napi::Number::New(env, ntohs(local.sin_port)));
  out.Set(2u, Napi::String::New(env, b));
  out.Set(3u, Napi::Number::New(env, ntohs(remote.sin_port)));
  return out;
}

}  // namespace

void InitClient(Napi::Env env, Napi::Object exports) {
  exports.Set("tcpConnect", Napi::Function::New(env, TcpConnect, "tcpConnect"));
  exports.Set("sockNames", Napi::Function::New(env, SockNames, "sockNames"));
}
