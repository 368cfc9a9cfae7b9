// The PROXY protocol header on the addon's accept path (src/listen/proxy.ts
// parses it; src/listen/proxywait.ts drives the wait). An accepted client is
// a raw, blocking fd with no libuv stream, so waiting for its header needs a
// poll of its own (uv_poll_init makes the fd non-blocking: its flags are
// put back when the poll stops); reading never waits (MSG_DONTWAIT) and takes only what
// the caller asks for, so no byte after the header is ever consumed.
//
//   proxyWait(fd, callback(status)) -> id   one-shot: readable (status 0) or
//                                           the poll's -errno; the poll is
//                                           stopped before the callback runs
//   proxyCancel(id)                         stop a wait that has not fired
//   proxyPeek(fd, buffer, off, len) -> n    recv(MSG_PEEK): count, 0 at EOF, -errno
//   proxyRecv(fd, buffer, off, len) -> n    recv: count, 0 at EOF, -errno
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <uv.h>

#include <unordered_map>

namespace {

struct Wait {
  napi_env env = nullptr;
  int id = 0;
  int fd = -1;
  int flags = -1;  // the fd's status flags before uv_poll_init made it non-blocking
  uv_poll_t poll;
  napi_ref callback = nullptr;
};

struct Shared {
  napi_ref resource = nullptr;
  napi_async_context context = nullptr;
  int next = 1;
  std::unordered_map<int, Wait*> live;
};

Shared* shared = nullptr;

void onClosed(uv_handle_t* h) {
  delete static_cast<Wait*>(h->data);
}

// Stops the poll (synchronously out of epoll: the fd may be closed next) and frees the wait.
void retire(Wait* w) {
  uv_poll_stop(&w->poll);
  // prog gets the socket as accepted: blocking, unless it was not.
  if (w->flags >= 0) fcntl(w->fd, F_SETFL, w->flags);
  shared->live.erase(w->id);
  napi_delete_reference(w->env, w->callback);
  w->callback = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), onClosed);
}

void onReadable(uv_poll_t* p, int status, int) {
  Wait* w = static_cast<Wait*>(p->data);
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb;
  napi_get_reference_value(env, w->callback, &cb);
  napi_ref cbRef = nullptr;
  napi_create_reference(env, cb, 1, &cbRef);  // outlives retire()
  retire(w);
  napi_value argv[1];
  napi_create_int32(env, status < 0 ? status : 0, &argv[0]);
  CallFromLoop(env, shared->context, shared->resource, cbRef, 1, argv);
  napi_delete_reference(env, cbRef);
  napi_close_handle_scope(env, scope);
}

Napi::Value ProxyWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "proxyWait(fd, callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!shared) {
    shared = new Shared();
    Napi::Object resource = Napi::Object::New(env);
    napi_create_reference(env, resource, 1, &shared->resource);
    napi_async_init(env, resource, Napi::String::New(env, "ucspi-proxy"), &shared->context);
  }
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  Wait* w = new Wait();
  w->env = env;
  w->fd = info[0].As<Napi::Number>().Int32Value();
  w->flags = fcntl(w->fd, F_GETFL);
  int rc = uv_poll_init(loop, &w->poll, w->fd);
  if (rc < 0) {
    if (w->flags >= 0) fcntl(w->fd, F_SETFL, w->flags);
    delete w;
    return ThrowErrno(env, "uv_poll_init", -rc);
  }
  w->poll.data = w;
  rc = uv_poll_start(&w->poll, UV_READABLE, onReadable);
  if (rc < 0) {
    if (w->flags >= 0) fcntl(w->fd, F_SETFL, w->flags);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), onClosed);
    return ThrowErrno(env, "uv_poll_start", -rc);
  }
  w->id = shared->next++;
  if (shared->next > 0x3fffffff) shared->next = 1;
  napi_create_reference(env, info[1], 1, &w->callback);
  shared->live[w->id] = w;
  return Napi::Number::New(env, w->id);
}

napi_value ProxyCancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  int32_t id = 0;
  if (argc >= 1) napi_get_value_int32(env, a[0], &id);
  if (shared) {
    auto it = shared->live.find(id);
    if (it != shared->live.end()) retire(it->second);
  }
  return nullptr;
}

Napi::Value Recv(const Napi::CallbackInfo& info, int flags) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "(fd, buffer, off, len)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  int64_t off = info[2].As<Napi::Number>().Int64Value(), len = info[3].As<Napi::Number>().Int64Value();
  if (off < 0 || len < 0 || off + len > int64_t(b.Length())) {
    Napi::RangeError::New(env, "range outside the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ssize_t n;
  do n = recv(fd, b.Data() + off, size_t(len), flags | MSG_DONTWAIT); while (n < 0 && errno == EINTR);
  return Napi::Number::New(env, n < 0 ? -errno : double(n));
}

Napi::Value ProxyPeek(const Napi::CallbackInfo& info) {
  return Recv(info, MSG_PEEK);
}

Napi::Value ProxyRecv(const Napi::CallbackInfo& info) {
  return Recv(info, 0);
}

}  // namespace

void InitProxy(Napi::Env env, Napi::Object exports) {
  exports.Set("proxyWait", Napi::Function::New(env, ProxyWait, "proxyWait"));
  exports.Set("proxyPeek", Napi::Function::New(env, ProxyPeek, "proxyPeek"));
  exports.Set("proxyRecv", Napi::Function::New(env, ProxyRecv, "proxyRecv"));
  napi_value fn;
  napi_create_function(env, "proxyCancel", NAPI_AUTO_LENGTH, ProxyCancel, nullptr, &fn);
  exports.Set("proxyCancel", fn);
}
