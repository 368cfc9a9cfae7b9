#include "addon.h"

void InitLaunch(Napi::Env, Napi::Object) {}
