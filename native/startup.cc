// What every command does once at start, before any module of its own runs
// (scripts/banner.js): the process name the originals have, and the signals
// the administrator had ignored before Node reset them.
#include "addon.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <cstring>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// Signals that were ignored when the command was exec'd and are ignored
// again now (bit sig-1). native/launch.cc leaves them ignored in a child
// while they are still ignored here, as an original's child inherits them;
// a signal the command has since caught goes back to the default there.
unsigned long long startIgnored = 0;

namespace {

// setComm(name): /proc/self/comm, what ps -o comm, pidof, pgrep -x and
// killall match (Node's process.title sets it from the whole title, cut to
// 15 bytes).
Napi::Value SetComm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowErrno(env, "prctl", EINVAL);
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (prctl(PR_SET_NAME, name.c_str(), 0, 0, 0) == -1) return ThrowErrno(env, "prctl", errno);
  return env.Undefined();
}

// ignoreAgain(hex): SigIgn of the process before Node started (as
// /proc/PID/status shows it, bit sig-1), set back to SIG_IGN, but for
// SIGKILL and SIGSTOP. Node set every ignored signal back to the default,
// and installed its own handlers for SIGINT, SIGTERM and SIGUSR1 (the
// inspector): an ignored one of those is ignored again too. The command's
// own handlers come after this and take precedence, as an original's do.
// Returns the mask applied.
Napi::Value IgnoreAgain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowErrno(env, "sigaction", EINVAL);
  std::string hex = info[0].As<Napi::String>().Utf8Value();
  unsigned long long mask = 0;
  for (char c : hex) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0 || (mask >> 60) != 0) return ThrowErrno(env, "sigaction", EINVAL);
    mask = mask << 4 | static_cast<unsigned long long>(v);
  }
  mask &= ~(1ULL << (SIGKILL - 1) | 1ULL << (SIGSTOP - 1));
  unsigned long long applied = 0;
  for (int sig = 1; sig <= 64; sig++) {
    if (!(mask >> (sig - 1) & 1)) continue;
    // The raw call, as native/launch.cc reads them: glibc's sigaction()
    // refuses its own internal signals.
    unsigned long ign[4] = {reinterpret_cast<unsigned long>(SIG_IGN), 0, 0, 0};
    if (syscall(SYS_rt_sigaction, sig, ign, nullptr, 8) == 0) applied |= 1ULL << (sig - 1);
  }
  startIgnored = applied;
  char out[17];
  snprintf(out, sizeof out, "%llx", applied);
  return Napi::String::New(env, out);
}

// sigDefault(sig): the default disposition again, and the signal unblocked
// in this (the main) thread. For SIGUSR1: Node's handler would start the
// inspector (which the launcher's flags keep from listening, the signal
// then lost); the originals die of it, and from here on ours does too.
Napi::Value SigDefault(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowErrno(env, "sigaction", EINVAL);
  int sig = info[0].As<Napi::Number>().Int32Value();
  unsigned long dfl[4] = {0, 0, 0, 0};
  if (syscall(SYS_rt_sigaction, sig, dfl, nullptr, 8) == -1) return ThrowErrno(env, "sigaction", errno);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  int err = pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  if (err != 0) return ThrowErrno(env, "pthread_sigmask", err);
  return env.Undefined();
}

// setArgv(words): the process's argument area (/proc/self/cmdline: ps,
// pidof's first word) holds words, each NUL-terminated, as an original's
// argv, within the room the area has (Node took its own copy of the
// arguments at start; libuv writes its process.title there too, as one
// word). The rest of the area is zeroed. Returns false when /proc tells no
// area.
Napi::Value SetArgv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) return ThrowErrno(env, "setArgv", EINVAL);
  Napi::Array words = info[0].As<Napi::Array>();
  // Fields 48 and 49 of /proc/self/stat, after the command's name in parentheses.
  FILE* f = fopen("/proc/self/stat", "re");
  if (!f) return Napi::Boolean::New(env, false);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return Napi::Boolean::New(env, false);
  unsigned long start = 0, end = 0;
  // After ')': field 3 (state) onwards; arg_start is field 48.
  int field = 2;
  for (char* tok = strtok(p + 1, " "); tok; tok = strtok(nullptr, " ")) {
    field++;
    if (field == 48) start = strtoul(tok, nullptr, 10);
    if (field == 49) { end = strtoul(tok, nullptr, 10); break; }
  }
  if (!start || end <= start) return Napi::Boolean::New(env, false);
  std::string text;
  for (uint32_t i = 0; i < words.Length(); i++) {
    Napi::Value w = words.Get(i);
    if (!w.IsString()) continue;
    text += w.As<Napi::String>().Utf8Value();
    text.push_back('\0');
  }
  size_t room = end - start;
  if (text.size() > room) { text.resize(room); text[room - 1] = '\0'; }
  char* area = reinterpret_cast<char*>(start);
  memcpy(area, text.data(), text.size());
  memset(area + text.size(), 0, room - text.size());
  return Napi::Boolean::New(env, true);
}

}  // namespace

void InitStartup(Napi::Env env, Napi::Object exports) {
  exports.Set("setComm", Napi::Function::New(env, SetComm, "setComm"));
  exports.Set("ignoreAgain", Napi::Function::New(env, IgnoreAgain, "ignoreAgain"));
  exports.Set("sigDefault", Napi::Function::New(env, SigDefault, "sigDefault"));
  exports.Set("setArgv", Napi::Function::New(env, SetArgv, "setArgv"));
}
