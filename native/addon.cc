#include "addon.h"

#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <string>
#include <uv.h>

Napi::Value ThrowErrno(Napi::Env env, const char* syscall, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));  // libuv's errors are -errno here
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

void CallFromLoop(napi_env env, napi_async_context context, napi_ref resource, napi_ref callback,
                  size_t argc, const napi_value* argv) {
  napi_value cb, res, result;
  napi_get_reference_value(env, callback, &cb);
  napi_get_reference_value(env, resource, &res);
  if (napi_make_callback(env, context, res, cb, argc, argv, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

bool StartThread(void* (*fn)(void*), void* arg, size_t stack) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t ta;
  pthread_attr_init(&ta);
  pthread_attr_setstacksize(&ta, stack);
  pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create(&t, &ta, fn, arg);
  pthread_attr_destroy(&ta);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return rc == 0;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitLaunch(env, exports);
  InitSys(env, exports);
  InitAccept(env, exports);
  { void InitUdp(Napi::Env, Napi::Object); InitUdp(env, exports); }  // native/udp.cc: udpsvd's socket
  { void InitExec(Napi::Env, Napi::Object); InitExec(env, exports); }  // native/exec.cc: the chain-loading tools
  { void InitProxy(Napi::Env, Napi::Object); InitProxy(env, exports); }  // native/proxy.cc: PROXY protocol header reads
  { void InitRotate(Napi::Env, Napi::Object); InitRotate(env, exports); }  // native/rotate.cc: multilog's and svlogd's rotation
  { void InitStartup(Napi::Env, Napi::Object); InitStartup(env, exports); }  // native/startup.cc: process name, ignored signals
  { void InitUsers(Napi::Env, Napi::Object); InitUsers(env, exports); }  // native/users.cc: getpwnam, getgrnam, getgrouplist
  { void InitClient(Napi::Env, Napi::Object); InitClient(env, exports); }  // native/client.cc: tcpclient's connect
  { void InitTls(Napi::Env, Napi::Object); InitTls(env, exports); }  // native/tls.cc: handshakes and records off the loop
  return exports;
}

NODE_API_MODULE(ucspi, Init)
