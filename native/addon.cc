#include "addon.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitLaunch(env, exports);
  InitSys(env, exports);
  InitAccept(env, exports);
  return exports;
}

NODE_API_MODULE(ucspi, Init)
