// Account look-ups through the C library's name service switch, as the
// originals make them (getpwnam, getgrnam, initgroups): /etc/passwd and
// /etc/group, and whatever else nsswitch.conf names (LDAP, extrausers,
// systemd's dynamic users). Node has none of these.
#include "addon.h"

#include <cerrno>
#include <grp.h>
#include <pwd.h>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

namespace {

// The name argument; false (and a thrown EINVAL) when it is not a string.
bool NameArg(const Napi::CallbackInfo& info, const char* call, std::string* out) {
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowErrno(info.Env(), call, EINVAL);
    return false;
  }
  *out = info[0].As<Napi::String>().Utf8Value();
  return true;
}

// getpwnam(name) -> [uid, gid], or null when there is no such user; a failed
// look-up (the database unreadable) is thrown with its errno.
Napi::Value Getpwnam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!NameArg(info, "getpwnam", &name)) return env.Undefined();
  if (name.find('\0') != std::string::npos) return env.Null();
  std::vector<char> buf(4096);
  struct passwd pw, *res = nullptr;
  int err;
  while ((err = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res)) == ERANGE && buf.size() < (1u << 24))
    buf.resize(buf.size() * 2);
  if (res == nullptr) {
    if (err == 0) return env.Null();
    return ThrowErrno(env, "getpwnam", err);
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, static_cast<double>(pw.pw_uid)));
  a.Set(1u, Napi::Number::New(env, static_cast<double>(pw.pw_gid)));
  return a;
}

// getgrnam(name) -> gid, or null when there is no such group; a failed
// look-up is thrown with its errno.
Napi::Value Getgrnam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!NameArg(info, "getgrnam", &name)) return env.Undefined();
  if (name.find('\0') != std::string::npos) return env.Null();
  std::vector<char> buf(4096);
  struct group gr, *res = nullptr;
  int err;
  while ((err = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res)) == ERANGE && buf.size() < (1u << 24))
    buf.resize(buf.size() * 2);
  if (res == nullptr) {
    if (err == 0) return env.Null();
    return ThrowErrno(env, "getgrnam", err);
  }
  return Napi::Number::New(env, static_cast<double>(gr.gr_gid));
}

// getgrouplist(user, gid) -> the groups initgroups(3) would set: gid first,
// then every group that lists user as a member.
Napi::Value Getgrouplist(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!NameArg(info, "getgrouplist", &name)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsNumber()) return ThrowErrno(env, "getgrouplist", EINVAL);
  gid_t gid = static_cast<gid_t>(info[1].As<Napi::Number>().Uint32Value());
  if (name.find('\0') != std::string::npos) name.resize(name.find('\0'));
  int n = 64;
  std::vector<gid_t> groups;
  for (;;) {
    groups.resize(static_cast<size_t>(n));
    int want = n;
    if (getgrouplist(name.c_str(), gid, groups.data(), &want) != -1) {
      groups.resize(static_cast<size_t>(want));
      break;
    }
    // -1 with want > n: too small, want is the count; -1 with want <= n: failed.
    if (want <= n || want > 65536) return ThrowErrno(env, "getgrouplist", errno ? errno : ENOMEM);
    n = want;
  }
  Napi::Array a = Napi::Array::New(env, groups.size());
  for (size_t i = 0; i < groups.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(groups[i])));
  return a;
}

}  // namespace

void InitUsers(Napi::Env env, Napi::Object exports) {
  exports.Set("getpwnam", Napi::Function::New(env, Getpwnam, "getpwnam"));
  exports.Set("getgrnam", Napi::Function::New(env, Getgrnam, "getgrnam"));
  exports.Set("getgrouplist", Napi::Function::New(env, Getgrouplist, "getgrouplist"));
}
