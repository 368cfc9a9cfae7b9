// One addon, one module init; each concern registers its own functions.
#pragma once
#include <napi.h>

// Shared by the concerns below (native/addon.cc):
// a JS exception for a failed system call, with .errno, .syscall and .code as
// Node's own errors carry them;
Napi::Value ThrowErrno(Napi::Env env, const char* syscall, int err);
// a call into JavaScript from an event-loop callback, with its own handle
// scope; make_callback, not call_function, so that nextTick and microtask
// queues run after it, as for any I/O. A throw is fatal, as for any I/O.
void CallFromLoop(napi_env env, napi_async_context context, napi_ref resource, napi_ref callback,
                  size_t argc, const napi_value* argv);
// a detached thread of ours running fn(arg) with every signal blocked (the
// signals are Node's main thread's); false when it cannot be started.
bool StartThread(void* (*fn)(void*), void* arg, size_t stack);

// native/launch.cc: posix_spawn with the socket as fd 0/1, and reaping.
void InitLaunch(Napi::Env env, Napi::Object exports);
// native/sys.cc: system calls Node lacks (flock for supervise/lock, ...).
void InitSys(Napi::Env env, Napi::Object exports);
// native/accept.cc: the listening socket, accepted on the main loop; -c stops polling.
void InitAccept(Napi::Env env, Napi::Object exports);
