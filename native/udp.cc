// udpsvd's socket: one IPv4 datagram socket, bound with SO_REUSEADDR and
// left blocking, since prog gets it as its fd 0 and reads the datagrams
// itself. The server never reads one: it waits for the socket to become
// readable, then peeks (zero bytes, MSG_PEEK) at the sender's address, as
// ipsvd does. Node's dgram cannot serve: it reads every datagram itself.
//
//   udpBind(ip, port) -> [fd, boundPort]       close-on-exec, blocking
//   udpWait(fd, callback(err, ip, port))       one-shot: the next datagram's sender,
//                                              err = -errno of a failed peek or poll
//   udpDiscard(fd) -> 0 or -errno              drop the first datagram (deny, failure)
//   udpClose(fd)                               stop waiting on fd and close it
//
// Several sockets may wait at once (inetd serves one per datagram service),
// each with one wait at a time.
//
// Our own reads use MSG_DONTWAIT, so the blocking socket never stalls the loop.
#include "addon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <string>
#include <unordered_map>

namespace {

struct Waiter {
  napi_env env = nullptr;
  int fd = -1;
  uv_poll_t poll;
  bool polling = false;
  napi_ref callback = nullptr;
  napi_ref resource = nullptr;
  napi_async_context context = nullptr;
};

std::unordered_map<int, Waiter*> waiters;

Napi::Value UdpBind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "udpBind(ip, port)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ip = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return ThrowErrno(env, "bind", EINVAL);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, "bind", e);
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  Napi::Array r = Napi::Array::New(env, 2);
  r.Set(0u, Napi::Number::New(env, fd));
  r.Set(1u, Napi::Number::New(env, ntohs(a.sin_port)));
  return r;
}

void deliver(Waiter* waiter, int err, const char* ip, int port) {
  napi_env env = waiter->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[3];
  napi_create_int32(env, err, &argv[0]);
  napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_int32(env, port, &argv[2]);
  napi_ref cb = waiter->callback;
  waiter->callback = nullptr;
  CallFromLoop(env, waiter->context, waiter->resource, cb, 3, argv);
  napi_delete_reference(env, cb);
  napi_close_handle_scope(env, scope);
}

void stop(Waiter* waiter) {
  if (!waiter->polling) return;
  uv_poll_stop(&waiter->poll);
  waiter->polling = false;
}

void onReadable(uv_poll_t* handle, int status, int) {
  Waiter* waiter = static_cast<Waiter*>(handle->data);
  if (status < 0) {
    stop(waiter);
    deliver(waiter, status, "", 0);
    return;
  }
  sockaddr_in from;
  socklen_t len = sizeof from;
  memset(&from, 0, sizeof from);
  ssize_t r;
  do r = recvfrom(waiter->fd, nullptr, 0, MSG_PEEK | MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
  while (r < 0 && errno == EINTR);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // gone meanwhile: keep waiting
  int err = r < 0 ? -errno : 0;
  stop(waiter);
  char ip[INET_ADDRSTRLEN] = "";
  if (!err) inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
  deliver(waiter, err, ip, err ? 0 : ntohs(from.sin_port));
}

Napi::Value UdpWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "udpWait(fd, callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto it = waiters.find(fd);
  Waiter* waiter = it == waiters.end() ? nullptr : it->second;
  if (!waiter) {
    waiter = new Waiter();
    waiter->env = env;
    waiter->fd = fd;
    uv_loop_t* loop;
    napi_get_uv_event_loop(env, &loop);
    int rc = uv_poll_init(loop, &waiter->poll, fd);
    if (rc < 0) {
      delete waiter;
      return ThrowErrno(env, "uv_poll_init", -rc);
    }
    waiter->poll.data = waiter;
    waiters[fd] = waiter;
    Napi::Object resource = Napi::Object::New(env);
    napi_create_reference(env, resource, 1, &waiter->resource);
    napi_async_init(env, resource, Napi::String::New(env, "ucspi-udp"), &waiter->context);
  } else if (waiter->callback) {
    Napi::Error::New(env, "udpWait: one wait at a time").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_create_reference(env, info[1], 1, &waiter->callback);
  uv_poll_start(&waiter->poll, UV_READABLE, onReadable);
  waiter->polling = true;
  return env.Undefined();
}

Napi::Value UdpDiscard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "udpDiscard(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  ssize_t r;
  do r = recv(fd, nullptr, 0, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  return Napi::Number::New(env, r < 0 ? -errno : 0);
}

void onClosed(uv_handle_t* h) {
  delete static_cast<Waiter*>(h->data);
}

// udpClose(fd): no more waiting (a pending wait is never called back), and
// the socket closed.
Napi::Value UdpClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "udpClose(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto it = waiters.find(fd);
  if (it != waiters.end()) {
    Waiter* w = it->second;
    waiters.erase(it);
    stop(w);
    if (w->callback) napi_delete_reference(env, w->callback);
    if (w->resource) napi_delete_reference(env, w->resource);
    if (w->context) napi_async_destroy(env, w->context);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), onClosed);
  }
  close(fd);
  return env.Undefined();
}

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  exports.Set("udpBind", Napi::Function::New(env, UdpBind, "udpBind"));
  exports.Set("udpWait", Napi::Function::New(env, UdpWait, "udpWait"));
  exports.Set("udpDiscard", Napi::Function::New(env, UdpDiscard, "udpDiscard"));
  exports.Set("udpClose", Napi::Function::New(env, UdpClose, "udpClose"));
}
