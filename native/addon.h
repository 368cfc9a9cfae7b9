// One addon, one module init; each concern registers its own functions.
#pragma once
#include <napi.h>

// native/launch.cc: posix_spawn with the socket as fd 0/1, and reaping.
void InitLaunch(Napi::Env env, Napi::Object exports);
// native/sys.cc: system calls Node lacks (flock for supervise/lock, ...).
void InitSys(Napi::Env env, Napi::Object exports);
// native/accept.cc: the listening socket, accepted on the main loop; -c stops polling.
void InitAccept(Napi::Env env, Napi::Object exports);
