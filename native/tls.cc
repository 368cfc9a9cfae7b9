// The native TLS engine: handshakes and the record layer on our own threads,
// never on the event loop. OpenSSL is Node's own (the node binary exports
// its symbols; the headers come with Node's): no second copy in the process.
//
//   tlsSetup(onEvent(id, kind, detail))   once; kind 0: handshake done (detail:
//                                          the session), 1: failed (a message),
//                                          2: relay ended ('' or a message)
//   tlsConfigure(cfg)                      a new SSL_CTX set for the next handshakes;
//                                          throws (naming the pair) and keeps the old one
//   tlsHandshake(fd) -> id                 the accepted socket is ours from now on
//   tlsRelay(id, fd)                       records <-> plaintext with fd (ours from now on)
//   tlsDrop(id)                            closes a connection (no event; a relay: kind 2)
//   socketPair() -> [a, b]                 AF_UNIX stream pair, close-on-exec
//
// Each connection belongs to one worker thread (id % threads), which polls
// its sockets edge-triggered with epoll: a handshake step or a relay pump
// runs until every descriptor it touches says EAGAIN, and the next edge
// resumes it. Handshake deadlines are kept per worker in order.
//
// Kernel TLS (cfg.ktls): the traffic keys and record sequence numbers are
// taken as the handshake ends (secrets from the key log callback for TLS 1.3,
// the key block from the master secret for TLS 1.2; records counted by the
// message callback), laid out as linux/tls.h's crypto_info structs, and the
// "tls" ULP is tried. When the kernel takes them the socket itself is handed
// to JavaScript (detail.kernel: its fd); otherwise (detail.kernel: -errno)
// the relay runs as without kTLS. The structs are in detail.ktls either way.
#include "addon.h"

// Without OpenSSL's headers beside Node's (a Node built without them) the
// rest of the addon still builds: no tls* export, and src/tls/native.ts
// says there is no native backend.
#if !__has_include(<openssl/ssl.h>)
void InitTls(Napi::Env, Napi::Object) {}
#else

#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

namespace {

constexpr size_t BUF = 16384;  // one full record of plaintext per read

int64_t nowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string sslError(const char* what) {
  unsigned long e = ERR_peek_last_error();
  std::string s(what);
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed" -> the reason
    const char* r = ERR_reason_error_string(e);
    s += ": ";
    s += r ? r : buf;
  }
  ERR_clear_error();
  return s;
}

// ---- configuration -------------------------------------------------------

struct Config {
  SSL_CTX* def = nullptr;                                // the '' pair (or the first)
  std::vector<std::pair<std::string, SSL_CTX*>> named;  // SNI patterns
  std::vector<unsigned char> alpn;                       // wire format, server's order
  int64_t timeoutMs = 0;
  bool ktls = false;
  ~Config() {
    for (auto& p : named) SSL_CTX_free(p.second);
    SSL_CTX_free(def);
  }
};

std::mutex cfgLock;
// Under cfgLock. Never destroyed: a static destructor would free its
// contexts after OpenSSL's own atexit clean-up.
std::shared_ptr<Config>* current = new std::shared_ptr<Config>();
int connIndex = -1;               // SSL ex_data: the Conn

bool matches(const std::string& pattern, const char* name) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    const char* dot = strchr(name, '.');  // '*' is one label, not empty
    return dot && dot != name && strcasecmp(dot + 1, pattern.c_str() + 2) == 0;
  }
  return strcasecmp(pattern.c_str(), name) == 0;
}

int onServername(SSL* ssl, int*, void* arg) {
  Config* cfg = static_cast<Config*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name || !*name) return SSL_TLSEXT_ERR_OK;
  SSL_CTX* pick = nullptr;
  for (auto& p : cfg->named)  // an exact name first, then a wildcard
    if (p.first[0] != '*' && matches(p.first, name)) { pick = p.second; break; }
  if (!pick)
    for (auto& p : cfg->named)
      if (p.first[0] == '*' && matches(p.first, name)) { pick = p.second; break; }
  if (pick) SSL_set_SSL_CTX(ssl, pick);
  return SSL_TLSEXT_ERR_OK;
}

int onAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
           void* arg) {
  Config* cfg = static_cast<Config*>(arg);
  unsigned char* o = nullptr;
  // The server's preference: its list first.
  if (SSL_select_next_proto(&o, outlen, cfg->alpn.data(), unsigned(cfg->alpn.size()), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no protocol in common: as RFC 7301 says
  *out = o;
  return SSL_TLSEXT_ERR_OK;
}

int acceptAnyCert(int, X509_STORE_CTX*) { return 1; }  // 'request': the result is reported, not enforced

void onKeylog(const SSL* ssl, const char* line);

struct Options {
  std::string ciphers, ciphersuites;
  int minVersion = TLS1_2_VERSION;
  int verify = 0;  // 0 none, 1 request, 2 require
  int depth = -1;
  std::vector<X509*> ca;
};

// One SSL_CTX for one pair: an error message, or "" with *out set.
std::string makeCtx(const Options& o, const std::string& name, const char* cert, size_t certLen, const char* key,
                    size_t keyLen, Config* cfg, SSL_CTX** out) {
  std::string who = name.empty() ? std::string("the default pair") : "'" + name + "'";
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return sslError("SSL_CTX_new");
  auto fail = [&](const std::string& m) {
    SSL_CTX_free(ctx);
    return m;
  };
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_min_proto_version(ctx, o.minVersion);
  // One ticket per full TLS 1.3 handshake (OpenSSL sends two): a client
  // resumes with it; the second costs every handshake and serves no one here.
  SSL_CTX_set_num_tickets(ctx, 1);
  static const unsigned char sid[] = "ucspi-tls";
  SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
  if (!o.ciphers.empty() && !SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()))
    return fail(sslError("CIPHERS"));
  if (!o.ciphersuites.empty() && !SSL_CTX_set_ciphersuites(ctx, o.ciphersuites.c_str()))
    return fail(sslError("ciphersuites"));

  BIO* b = BIO_new_mem_buf(cert, int(certLen));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  if (!x) {
    BIO_free(b);
    return fail(sslError(("certificate of " + who).c_str()));
  }
  int ok = SSL_CTX_use_certificate(ctx, x);
  X509_free(x);
  if (!ok) {
    BIO_free(b);
    return fail(sslError(("certificate of " + who).c_str()));
  }
  while (X509* c = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {  // the chain, in order
    if (!SSL_CTX_add0_chain_cert(ctx, c)) {
      X509_free(c);
      BIO_free(b);
      return fail(sslError(("chain of " + who).c_str()));
    }
  }
  ERR_clear_error();  // the end of the PEM text
  BIO_free(b);
  b = BIO_new_mem_buf(key, int(keyLen));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (!k) return fail(sslError(("key of " + who).c_str()));
  ok = SSL_CTX_use_PrivateKey(ctx, k);
  EVP_PKEY_free(k);
  if (!ok || !SSL_CTX_check_private_key(ctx)) return fail(sslError(("key of " + who + " does not match its certificate").c_str()));

  if (!o.ca.empty()) {
    X509_STORE* st = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (X509* c : o.ca) {
      X509_STORE_add_cert(st, c);
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(c)));
    }
    SSL_CTX_set_client_CA_list(ctx, names);  // what the server asks for
  }
  if (o.verify == 1) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, acceptAnyCert);
  else if (o.verify == 2)
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE, nullptr);
  if (o.depth >= 0) SSL_CTX_set_verify_depth(ctx, o.depth);
  // Per context: SSL_set_SSL_CTX (SNI) moves the handshake to this one.
  SSL_CTX_set_tlsext_servername_callback(ctx, onServername);
  SSL_CTX_set_tlsext_servername_arg(ctx, cfg);
  if (!cfg->alpn.empty()) SSL_CTX_set_alpn_select_cb(ctx, onAlpn, cfg);
  if (cfg->ktls) SSL_CTX_set_keylog_callback(ctx, onKeylog);
  *out = ctx;
  return "";
}

// ---- connections ---------------------------------------------------------

enum Phase { HANDSHAKE, WAITING, RELAY };
enum Kind { DONE = 0, FAILED = 1, ENDED = 2 };

struct Worker;

struct KtlsState {
  uint64_t txSeq = 0, rxSeq = 0;
  std::string clientSecret, serverSecret;  // TLS 1.3 application traffic secrets
  ~KtlsState() {
    if (!clientSecret.empty()) OPENSSL_cleanse(&clientSecret[0], clientSecret.size());
    if (!serverSecret.empty()) OPENSSL_cleanse(&serverSecret[0], serverSecret.size());
  }
};

struct Conn {
  int32_t id;
  int fd;
  SSL* ssl = nullptr;
  std::shared_ptr<Config> cfg;
  Worker* w;
  Phase phase = HANDSHAKE;
  bool dead = false;
  std::multimap<int64_t, Conn*>::iterator timer;
  bool timed = false;
  int64_t idleMs = 0;  // relay: nothing moving either way this long ends it (sslserver -w); 0 never
  std::unique_ptr<KtlsState> kt;
  // The relay: net = the TLS socket, prog = the program's side.
  int pfd = -1;
  std::unique_ptr<char[]> toProg, toNet;
  size_t tpOff = 0, tpLen = 0, tnOff = 0, tnLen = 0;
  bool netRdEof = false;   // close_notify or EOF from the client
  bool progWrShut = false; // shutdown(SHUT_WR) done towards the program
  bool progGone = false;   // the program no longer reads: what the client sends is discarded
  bool progRdEof = false;  // EOF from the program
  bool netWrShut = false;  // close_notify sent and SHUT_WR done
};

struct Event {
  int32_t id;
  int kind;
  std::string text;  // FAILED, ENDED: the message
  // DONE:
  std::string protocol, cipher, sessionId, servername, alpn, peerCert;
  int bits = 0, algBits = 0;
  long verify = 0;
  bool hasPeer = false;
  int kernel = 0;  // fd handed over, or -errno; 0: kTLS not asked
  std::string ktx, krx;
  int kversion = 0, kcipher = 0;
};

struct Command {
  int kind;  // 0 add (conn), 1 relay (id, fd, idleMs), 2 drop (id)
  Conn* conn;
  int32_t id;
  int fd;
  int64_t idleMs = 0;
};

struct Worker {
  int ep = -1, wake = -1;
  std::mutex busy;  // held while a batch of events is handled (see atExit)
  std::mutex lock;
  std::deque<Command> commands;
  std::unordered_map<int32_t, Conn*> conns;  // worker thread only
  std::multimap<int64_t, Conn*> deadlines;
  std::vector<Conn*> graveyard;  // freed after the current batch of events
};

struct State {
  napi_env env = nullptr;
  uv_async_t async;
  napi_ref callback = nullptr, resource = nullptr;
  napi_async_context context = nullptr;
  std::mutex elock;
  std::vector<Event> events;
  bool signaled = false, closing = false;
  std::vector<Worker*> workers;
  std::unordered_map<int32_t, Phase> live;  // main thread: id -> what JS may still do
  int32_t nextId = 1;
};

State* state = nullptr;

void post(Event&& e) {
  std::lock_guard<std::mutex> g(state->elock);
  if (state->closing) return;
  state->events.push_back(std::move(e));
  if (!state->signaled) {
    state->signaled = true;
    uv_async_send(&state->async);
  }
}

void command(Worker* w, const Command& c) {
  {
    std::lock_guard<std::mutex> g(w->lock);
    w->commands.push_back(c);
  }
  uint64_t one = 1;
  ssize_t n;
  do n = write(w->wake, &one, sizeof one); while (n < 0 && errno == EINTR);
}

// Tagged epoll data: the Conn, low bit set for the program's side.
uint64_t tag(Conn* c, bool prog) { return reinterpret_cast<uint64_t>(c) | (prog ? 1 : 0); }

void unschedule(Conn* c) {
  if (c->timed) {
    c->w->deadlines.erase(c->timer);
    c->timed = false;
  }
}

// Frees everything of the connection (its descriptors are closed unless
// handed over, fd = -1) at the end of the worker's batch.
void bury(Conn* c) {
  if (c->dead) return;
  c->dead = true;
  unschedule(c);
  c->w->conns.erase(c->id);
  if (c->fd >= 0) {
    epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
  }
  if (c->pfd >= 0) {
    epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->pfd, nullptr);
    close(c->pfd);
  }
  if (c->ssl) SSL_free(c->ssl);
  c->ssl = nullptr;
  c->w->graveyard.push_back(c);
}

void fail(Conn* c, Kind kind, const std::string& why) {
  Event e;
  e.id = c->id;
  e.kind = kind;
  e.text = why;
  bury(c);
  post(std::move(e));
}

std::string hex(const unsigned char* p, size_t n) {
  static const char d[] = "0123456789ABCDEF";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; i++) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

// ---- kernel TLS parameters ----------------------------------------------

// The key log: the TLS 1.3 application traffic secrets, as they are made.
void onKeylog(const SSL* ssl, const char* line) {
  Conn* c = static_cast<Conn*>(SSL_get_ex_data(ssl, connIndex));
  if (!c || !c->kt) return;
  std::string* to = nullptr;
  if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24)) to = &c->kt->clientSecret;
  else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24)) to = &c->kt->serverSecret;
  if (!to) return;
  const char* h = strrchr(line, ' ');
  if (!h) return;
  to->clear();
  for (h++; h[0] && h[1]; h += 2) {
    auto v = [](char ch) { return ch <= '9' ? ch - '0' : (ch | 32) - 'a' + 10; };
    to->push_back(char(v(h[0]) << 4 | v(h[1])));
  }
}

// Record numbering as the kernel continues it: a direction's count restarts
// when its keys change: with ChangeCipherSpec's record (TLS 1.2: its header
// is all the message callback shows of one read), after Finished (TLS 1.3:
// the application keys follow it). Every other record header counts.
void onMessage(int write, int, int type, const void* buf, size_t len, SSL* ssl, void*) {
  Conn* c = static_cast<Conn*>(SSL_get_ex_data(ssl, connIndex));
  if (!c || !c->kt || len < 1) return;
  uint64_t& seq = write ? c->kt->txSeq : c->kt->rxSeq;
  unsigned char first = static_cast<const unsigned char*>(buf)[0];
  bool v13 = SSL_version(ssl) == TLS1_3_VERSION;
  if (type == SSL3_RT_HEADER) {
    if (!v13 && first == SSL3_RT_CHANGE_CIPHER_SPEC) seq = 0;
    else seq++;
  } else if (v13 && type == SSL3_RT_HANDSHAKE && first == SSL3_MT_FINISHED) {
    seq = 0;
  }
}

// HKDF-Expand-Label(secret, label, "", n) for n up to the hash's size (RFC 8446 7.1).
bool expandLabel(const EVP_MD* md, const std::string& secret, const char* label, size_t n, unsigned char* out) {
  unsigned char info[64];
  size_t l = strlen(label), i = 0;
  info[i++] = uint8_t(n >> 8);
  info[i++] = uint8_t(n);
  info[i++] = uint8_t(6 + l);
  memcpy(info + i, "tls13 ", 6);
  i += 6;
  memcpy(info + i, label, l);
  i += l;
  info[i++] = 0;  // empty context
  info[i++] = 1;  // T(1)
  unsigned char t[EVP_MAX_MD_SIZE];
  unsigned tl = 0;
  if (!HMAC(md, secret.data(), int(secret.size()), info, i, t, &tl) || tl < n) return false;
  memcpy(out, t, n);
  OPENSSL_cleanse(t, sizeof t);
  return true;
}

// TLS 1.2's PRF (RFC 5246 5), P_hash with the suite's hash.
bool prf12(const EVP_MD* md, const unsigned char* secret, size_t slen, const std::string& seed, unsigned char* out,
           size_t n) {
  unsigned char a[EVP_MAX_MD_SIZE], t[EVP_MAX_MD_SIZE];
  unsigned al = 0, tl = 0;
  if (!HMAC(md, secret, int(slen), reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), a, &al)) return false;
  size_t done = 0;
  std::string buf;
  while (done < n) {
    buf.assign(reinterpret_cast<char*>(a), al);
    buf += seed;
    if (!HMAC(md, secret, int(slen), reinterpret_cast<const unsigned char*>(buf.data()), buf.size(), t, &tl)) return false;
    size_t k = std::min<size_t>(tl, n - done);
    memcpy(out + done, t, k);
    done += k;
    if (!HMAC(md, secret, int(slen), a, al, a, &al)) return false;
  }
  OPENSSL_cleanse(a, sizeof a);
  OPENSSL_cleanse(t, sizeof t);
  return true;
}

void be64(uint64_t v, unsigned char* out) {
  for (int i = 7; i >= 0; i--, v >>= 8) out[i] = uint8_t(v);
}

// The crypto_info structs TLS_TX and TLS_RX would get; "" when this suite or
// version has none (kTLS carries AES-GCM and ChaCha20-Poly1305 only).
std::string ktlsParams(Conn* c, Event& e) {
  SSL* ssl = c->ssl;
  const SSL_CIPHER* ciph = SSL_get_current_cipher(ssl);
  int version = SSL_version(ssl);
  if (!ciph || (version != TLS1_2_VERSION && version != TLS1_3_VERSION)) return "version";
  int nid = SSL_CIPHER_get_cipher_nid(ciph);
  const EVP_MD* md = SSL_CIPHER_get_handshake_digest(ciph);
  size_t keyLen, ivLen12;  // ivLen12: TLS 1.2's implicit (fixed) IV in the key block
  int type;
  if (nid == NID_aes_128_gcm) keyLen = 16, ivLen12 = 4, type = TLS_CIPHER_AES_GCM_128;
  else if (nid == NID_aes_256_gcm) keyLen = 32, ivLen12 = 4, type = TLS_CIPHER_AES_GCM_256;
  else if (nid == NID_chacha20_poly1305) keyLen = 32, ivLen12 = 12, type = TLS_CIPHER_CHACHA20_POLY1305;
  else return "cipher";
  if (!md) return "cipher";
  // Per direction: key, the 12-byte nonce base (salt || iv for GCM).
  unsigned char txKey[32], rxKey[32], txIv[12], rxIv[12];
  if (version == TLS1_3_VERSION) {
    if (c->kt->serverSecret.empty() || c->kt->clientSecret.empty()) return "secrets";
    if (!expandLabel(md, c->kt->serverSecret, "key", keyLen, txKey) || !expandLabel(md, c->kt->serverSecret, "iv", 12, txIv) ||
        !expandLabel(md, c->kt->clientSecret, "key", keyLen, rxKey) || !expandLabel(md, c->kt->clientSecret, "iv", 12, rxIv))
      return "hkdf";
  } else {
    unsigned char master[64];
    size_t ml = SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof master);
    unsigned char cr[32], sr[32];
    if (!ml || SSL_get_client_random(ssl, cr, 32) != 32 || SSL_get_server_random(ssl, sr, 32) != 32) return "secrets";
    std::string seed("key expansion");
    seed.append(reinterpret_cast<char*>(sr), 32);
    seed.append(reinterpret_cast<char*>(cr), 32);
    unsigned char block[2 * 32 + 2 * 12];
    size_t n = 2 * keyLen + 2 * ivLen12;
    bool ok = prf12(md, master, ml, seed, block, n);
    OPENSSL_cleanse(master, sizeof master);
    if (!ok) return "prf";
    // client_write_key, server_write_key, client_write_IV, server_write_IV
    memcpy(rxKey, block, keyLen);
    memcpy(txKey, block + keyLen, keyLen);
    memset(rxIv, 0, 12);
    memset(txIv, 0, 12);
    memcpy(rxIv, block + 2 * keyLen, ivLen12);
    memcpy(txIv, block + 2 * keyLen + ivLen12, ivLen12);
    OPENSSL_cleanse(block, sizeof block);
    if (ivLen12 == 4) {
      // GCM's explicit nonce: the kernel sends the struct's iv and counts up
      // from it. OpenSSL's own began at random; ours begins at the record
      // sequence number, as RFC 5288 suggests (a collision with the one
      // record OpenSSL sent under these keys: 2^-64).
      be64(c->kt->txSeq, txIv + 4);
      be64(c->kt->rxSeq, rxIv + 4);
    }
  }
  auto lay = [&](const unsigned char* key, const unsigned char* iv, uint64_t seq) {
    std::string s;
    unsigned char rs[8];
    be64(seq, rs);
    if (type == TLS_CIPHER_AES_GCM_128) {
      tls12_crypto_info_aes_gcm_128 ci;
      memset(&ci, 0, sizeof ci);
      ci.info.version = uint16_t(version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION);
      ci.info.cipher_type = uint16_t(type);
      memcpy(ci.key, key, 16);
      memcpy(ci.salt, iv, 4);
      memcpy(ci.iv, iv + 4, 8);
      memcpy(ci.rec_seq, rs, 8);
      s.assign(reinterpret_cast<char*>(&ci), sizeof ci);
      OPENSSL_cleanse(&ci, sizeof ci);
    } else if (type == TLS_CIPHER_AES_GCM_256) {
      tls12_crypto_info_aes_gcm_256 ci;
      memset(&ci, 0, sizeof ci);
      ci.info.version = uint16_t(version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION);
      ci.info.cipher_type = uint16_t(type);
      memcpy(ci.key, key, 32);
      memcpy(ci.salt, iv, 4);
      memcpy(ci.iv, iv + 4, 8);
      memcpy(ci.rec_seq, rs, 8);
      s.assign(reinterpret_cast<char*>(&ci), sizeof ci);
      OPENSSL_cleanse(&ci, sizeof ci);
    } else {
      tls12_crypto_info_chacha20_poly1305 ci;
      memset(&ci, 0, sizeof ci);
      ci.info.version = uint16_t(version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION);
      ci.info.cipher_type = uint16_t(type);
      memcpy(ci.key, key, 32);
      memcpy(ci.iv, iv, 12);
      memcpy(ci.rec_seq, rs, 8);
      s.assign(reinterpret_cast<char*>(&ci), sizeof ci);
      OPENSSL_cleanse(&ci, sizeof ci);
    }
    return s;
  };
  e.ktx = lay(txKey, txIv, c->kt->txSeq);
  e.krx = lay(rxKey, rxIv, c->kt->rxSeq);
  e.kversion = version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION;
  e.kcipher = type;
  OPENSSL_cleanse(txKey, sizeof txKey);
  OPENSSL_cleanse(rxKey, sizeof rxKey);
  OPENSSL_cleanse(txIv, sizeof txIv);
  OPENSSL_cleanse(rxIv, sizeof rxIv);
  return "";
}

// Hands the record layer to the kernel: 0, or the errno of the step that
// refused (the socket is then as before: the relay serves it). A refusal
// after TLS_TX was taken cannot be undone: -1.
int handToKernel(Conn* c, const Event& e) {
  if (SSL_has_pending(c->ssl)) return EAGAIN;  // bytes OpenSSL already holds would be lost
  if (setsockopt(c->fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") < 0) return errno;
  if (setsockopt(c->fd, SOL_TLS, TLS_TX, e.ktx.data(), socklen_t(e.ktx.size())) < 0) return errno;
  if (setsockopt(c->fd, SOL_TLS, TLS_RX, e.krx.data(), socklen_t(e.krx.size())) < 0) return -1;
  return 0;
}

// ---- handshake -----------------------------------------------------------

void handshakeDone(Conn* c) {
  unschedule(c);
  SSL* ssl = c->ssl;
  Event e;
  e.id = c->id;
  e.kind = DONE;
  e.protocol = SSL_get_version(ssl);
  const SSL_CIPHER* ciph = SSL_get_current_cipher(ssl);
  if (ciph) {
    e.cipher = SSL_CIPHER_get_name(ciph);
    e.bits = SSL_CIPHER_get_bits(ciph, &e.algBits);
  }
  SSL_SESSION* sess = SSL_get_session(ssl);
  if (sess) {
    unsigned len = 0;
    const unsigned char* id = SSL_SESSION_get_id(sess, &len);
    e.sessionId = hex(id, len);
  }
  const char* sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sn) e.servername = sn;
  const unsigned char* ap = nullptr;
  unsigned apl = 0;
  SSL_get0_alpn_selected(ssl, &ap, &apl);
  if (ap) e.alpn.assign(reinterpret_cast<const char*>(ap), apl);
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer) {
    int n = i2d_X509(peer, nullptr);
    if (n > 0) {
      e.peerCert.resize(size_t(n));
      unsigned char* p = reinterpret_cast<unsigned char*>(&e.peerCert[0]);
      i2d_X509(peer, &p);
      e.hasPeer = true;
    }
    X509_free(peer);
    e.verify = SSL_get_verify_result(ssl);
  }
  c->phase = WAITING;
  if (c->kt) {
    std::string why = ktlsParams(c, e);
    c->kt.reset();  // the secrets are no longer needed
    if (!why.empty()) e.kernel = -EOPNOTSUPP;
    else {
      int rc = handToKernel(c, e);
      if (rc == -1) {
        fail(c, FAILED, std::string("kernel TLS: TLS_RX refused after TLS_TX: ") + strerror(errno));
        return;
      }
      e.kernel = rc ? -rc : c->fd;
      if (!rc) {
        // The socket is JavaScript's now, blocking again for the program.
        epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, nullptr);
        int fl = fcntl(c->fd, F_GETFL);
        if (fl >= 0) fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
        SSL_set_quiet_shutdown(ssl, 1);
        c->fd = -1;
        bury(c);
      }
    }
  }
  post(std::move(e));
}

void handshakeStep(Conn* c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    handshakeDone(c);
    return;
  }
  int err = SSL_get_error(c->ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;  // the next edge
  if (err == SSL_ERROR_SYSCALL) {
    int e = errno;
    if (ERR_peek_error()) fail(c, FAILED, sslError("handshake"));
    else fail(c, FAILED, e ? std::string("handshake: ") + strerror(e) : "handshake: end of file");
    return;
  }
  fail(c, FAILED, sslError("handshake"));
}

// ---- relay ---------------------------------------------------------------

// Moves what it can both ways until every descriptor would block; ends the
// connection when both directions have ended. The orders, as stunnel's:
// the client's close_notify (or EOF) becomes SHUT_WR towards the program
// once everything before it is written; the program's EOF becomes
// close_notify and SHUT_WR towards the client once everything is sent.
void pump(Conn* c) {
  SSL* ssl = c->ssl;
  int passes = 0;
  for (bool progress = true; progress && !c->dead; passes++) {
    progress = false;
    // client -> program
    if (c->tpLen > c->tpOff) {
      ssize_t n = send(c->pfd, c->toProg.get() + c->tpOff, c->tpLen - c->tpOff, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c->tpOff += size_t(n);
        if (c->tpOff == c->tpLen) c->tpOff = c->tpLen = 0;
        progress = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        c->progGone = true;  // the program reads no more: drop what the client sends
        c->tpOff = c->tpLen = 0;
        progress = true;
      }
    } else if (!c->netRdEof) {
      ERR_clear_error();
      int n = SSL_read(ssl, c->toProg.get(), int(BUF));
      if (n > 0) {
        if (!c->progGone) c->tpLen = size_t(n), c->tpOff = 0;
        progress = true;
      } else {
        int err = SSL_get_error(ssl, n);
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && !ERR_peek_error() && n == 0)) {
          c->netRdEof = true;  // close_notify, or a bare EOF (as stunnel, taken as the end)
          progress = true;
        } else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          fail(c, ENDED, err == SSL_ERROR_SYSCALL && !ERR_peek_error() ? std::string("read: ") + strerror(errno)
                                                                       : sslError("read"));
          return;
        }
      }
    } else if (!c->progWrShut) {
      shutdown(c->pfd, SHUT_WR);
      c->progWrShut = true;
      progress = true;
    }
    // program -> client
    if (c->tnLen > c->tnOff) {
      ERR_clear_error();
      int n = SSL_write(ssl, c->toNet.get() + c->tnOff, int(c->tnLen - c->tnOff));
      if (n > 0) {
        c->tnOff += size_t(n);
        if (c->tnOff == c->tnLen) c->tnOff = c->tnLen = 0;
        progress = true;
      } else {
        int err = SSL_get_error(ssl, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          fail(c, ENDED, err == SSL_ERROR_SYSCALL && !ERR_peek_error() ? std::string("write: ") + strerror(errno)
                                                                       : sslError("write"));
          return;
        }
      }
    } else if (!c->progRdEof) {
      ssize_t n = recv(c->pfd, c->toNet.get(), BUF, MSG_DONTWAIT);
      if (n > 0) {
        c->tnLen = size_t(n), c->tnOff = 0;
        progress = true;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        c->progRdEof = true;
        // Its every descriptor closed (it exited), not just SHUT_WR: nothing
        // the client sends has anywhere to go, and the end need not wait for
        // the client's.
        pollfd pf = {c->pfd, POLLOUT, 0};
        if (n != 0 || (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLERR)))) {
          c->progGone = true;
          c->tpOff = c->tpLen = 0;
        }
        progress = true;
      }
    } else if (!c->netWrShut) {
      ERR_clear_error();
      int r = SSL_shutdown(ssl);  // close_notify; 0: sent, the client's not yet seen
      if (r >= 0) {
        shutdown(c->fd, SHUT_WR);
        c->netWrShut = true;
        progress = true;
      } else {
        int err = SSL_get_error(ssl, r);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) {
          shutdown(c->fd, SHUT_WR);
          c->netWrShut = true;
          progress = true;
        }
      }
    }
    // Both ways done (progWrShut follows the client's end; progGone: the
    // program left, what the client still sends has nowhere to go).
    if (c->netWrShut && (c->progWrShut || c->progGone)) {
      fail(c, ENDED, "");
      return;
    }
  }
  // Something moved (more than the one pass that found nothing): the idle
  // deadline starts again.
  if (!c->dead && c->idleMs > 0 && passes > 1) {
    unschedule(c);
    c->timer = c->w->deadlines.emplace(nowMs() + c->idleMs, c);
    c->timed = true;
  }
}

void startRelay(Conn* c, int pfd, int64_t idleMs) {
  c->pfd = pfd;
  c->phase = RELAY;
  unschedule(c);
  c->idleMs = idleMs;
  if (idleMs > 0) {
    c->timer = c->w->deadlines.emplace(nowMs() + idleMs, c);
    c->timed = true;
  }
  c->toProg.reset(new char[BUF]);
  c->toNet.reset(new char[BUF]);
  int fl = fcntl(pfd, F_GETFL);
  if (fl >= 0) fcntl(pfd, F_SETFL, fl | O_NONBLOCK);
  epoll_event ev;
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = tag(c, true);
  if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, pfd, &ev) < 0) {
    fail(c, ENDED, std::string("epoll_ctl: ") + strerror(errno));
    return;
  }
  pump(c);
}

void runCommands(Worker* w) {
  std::deque<Command> todo;
  {
    std::lock_guard<std::mutex> g(w->lock);
    todo.swap(w->commands);
  }
  for (Command& cmd : todo) {
    if (cmd.kind == 0) {
      Conn* c = cmd.conn;
      w->conns[c->id] = c;
      if (c->cfg->timeoutMs > 0) {
        c->timer = w->deadlines.emplace(nowMs() + c->cfg->timeoutMs, c);
        c->timed = true;
      }
      epoll_event ev;
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = tag(c, false);
      if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        fail(c, FAILED, std::string("epoll_ctl: ") + strerror(errno));
        continue;
      }
      handshakeStep(c);
      continue;
    }
    auto it = w->conns.find(cmd.id);
    if (it == w->conns.end()) {  // gone meanwhile: nothing to relay to
      if (cmd.kind == 1 && cmd.fd >= 0) close(cmd.fd);
      continue;
    }
    Conn* c = it->second;
    if (cmd.kind == 1 && c->phase == WAITING) startRelay(c, cmd.fd, cmd.idleMs);
    else if (cmd.kind == 2) {
      if (c->phase == RELAY) fail(c, ENDED, "dropped");
      else {
        ERR_clear_error();
        if (c->phase == WAITING) SSL_shutdown(c->ssl);  // best effort, never waits
        bury(c);
      }
    }
  }
}

void* workerMain(void* arg) {
  Worker* w = static_cast<Worker*>(arg);
  std::vector<epoll_event> evs(256);
  for (;;) {
    int timeout = -1;
    if (!w->deadlines.empty()) {
      int64_t d = w->deadlines.begin()->first - nowMs();
      timeout = d < 0 ? 0 : int(std::min<int64_t>(d, 60000));
    }
    int n = epoll_wait(w->ep, evs.data(), int(evs.size()), timeout);
    if (n < 0 && errno != EINTR) continue;
    std::lock_guard<std::mutex> busy(w->busy);
    for (int i = 0; i < n; i++) {
      uint64_t d = evs[i].data.u64;
      if (d == 0) {
        uint64_t v;
        ssize_t r;
        do r = read(w->wake, &v, sizeof v); while (r < 0 && errno == EINTR);
        runCommands(w);
        continue;
      }
      Conn* c = reinterpret_cast<Conn*>(d & ~uint64_t(1));
      if (c->dead) continue;
      if (c->phase == HANDSHAKE) handshakeStep(c);
      else if (c->phase == RELAY) pump(c);
      // WAITING: the edge is noted by the pump's first pass later
    }
    if (!w->deadlines.empty()) {
      int64_t now = nowMs();
      while (!w->deadlines.empty() && w->deadlines.begin()->first <= now) {
        Conn* c = w->deadlines.begin()->second;
        if (c->phase == RELAY) fail(c, ENDED, "idle: timed out");
        else fail(c, FAILED, "handshake timed out");
      }
    }
    for (Conn* c : w->graveyard) delete c;
    w->graveyard.clear();
  }
  return nullptr;
}

// ---- JavaScript side (main thread) ---------------------------------------

Napi::Object sessionObject(Napi::Env env, Event& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("protocol", e.protocol);
  o.Set("cipher", e.cipher);
  o.Set("cipherBits", e.bits);
  o.Set("cipherAlgBits", e.algBits);
  o.Set("sessionId", e.sessionId);
  o.Set("servername", e.servername);
  o.Set("alpn", Napi::String::New(env, e.alpn));
  o.Set("peerCert", e.hasPeer ? Napi::Value(Napi::Buffer<char>::Copy(env, e.peerCert.data(), e.peerCert.size()))
                              : env.Null());
  o.Set("verifyResult", Napi::Number::New(env, double(e.verify)));
  if (e.kernel) o.Set("kernel", e.kernel);
  if (!e.ktx.empty()) {
    Napi::Object k = Napi::Object::New(env);
    k.Set("version", e.kversion);
    k.Set("cipherType", e.kcipher);
    k.Set("tx", Napi::Buffer<char>::Copy(env, e.ktx.data(), e.ktx.size()));
    k.Set("rx", Napi::Buffer<char>::Copy(env, e.krx.data(), e.krx.size()));
    OPENSSL_cleanse(&e.ktx[0], e.ktx.size());
    OPENSSL_cleanse(&e.krx[0], e.krx.size());
    o.Set("ktls", k);
  }
  return o;
}

void refLoop(bool on) {
  if (on) uv_ref(reinterpret_cast<uv_handle_t*>(&state->async));
  else uv_unref(reinterpret_cast<uv_handle_t*>(&state->async));
}

void drain(uv_async_t*) {
  std::vector<Event> batch;
  {
    std::lock_guard<std::mutex> g(state->elock);
    batch.swap(state->events);
    state->signaled = false;
  }
  napi_env env = state->env;
  for (Event& e : batch) {
    auto it = state->live.find(e.id);
    if (it == state->live.end()) continue;  // dropped meanwhile
    if (e.kind == DONE && e.kernel <= 0) it->second = WAITING;
    else state->live.erase(it);
  }
  if (state->live.empty()) refLoop(false);
  for (Event& e : batch) {
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    Napi::Env E(env);
    napi_value argv[3];
    argv[0] = Napi::Number::New(E, e.id);
    argv[1] = Napi::Number::New(E, e.kind);
    argv[2] = e.kind == DONE ? Napi::Value(sessionObject(E, e)) : Napi::Value(Napi::String::New(E, e.text));
    CallFromLoop(env, state->context, state->resource, state->callback, 3, argv);
    napi_close_handle_scope(env, scope);
  }
}

// At exit, before OpenSSL's own clean-up (registered earlier, so run later):
// each worker is let finish its batch, then kept from starting another.
void atExit() {
  if (!state) return;
  for (Worker* w : state->workers) w->busy.lock();
  std::lock_guard<std::mutex> g(state->elock);
  state->closing = true;  // the loop may be gone: no wake-up of it
}

void cleanup(void*) {
  {
    std::lock_guard<std::mutex> g(state->elock);
    state->closing = true;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&state->async), nullptr);
}

Napi::Value Setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state) {
    Napi::Error::New(env, "tlsSetup: already set up").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "tlsSetup(onEvent)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int threads = 2;
  if (info.Length() >= 2 && info[1].IsNumber()) threads = info[1].As<Napi::Number>().Int32Value();
  if (threads < 1 || threads > 64) threads = 2;
  connIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  state = new State();
  state->env = env;
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  uv_async_init(loop, &state->async, drain);
  uv_unref(reinterpret_cast<uv_handle_t*>(&state->async));
  napi_create_reference(env, info[0], 1, &state->callback);
  Napi::Object resource = Napi::Object::New(env);
  napi_create_reference(env, resource, 1, &state->resource);
  napi_async_init(env, resource, Napi::String::New(env, "ucspi-tls"), &state->context);
  napi_add_env_cleanup_hook(env, cleanup, nullptr);
  std::atexit(atExit);
  bool ok = true;
  for (int i = 0; i < threads && ok; i++) {
    Worker* w = new Worker();
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev;
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    ok = w->ep >= 0 && w->wake >= 0 && epoll_ctl(w->ep, EPOLL_CTL_ADD, w->wake, &ev) == 0;
    ok = ok && StartThread(workerMain, w, 512 * 1024);  // our threads take no signals
    state->workers.push_back(w);
  }
  if (!ok) {
    Napi::Error::New(env, "tlsSetup: cannot start threads").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, threads);
}

Napi::Value Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "tlsConfigure(cfg)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  Options opt;
  auto cfg = std::make_shared<Config>();
  auto str = [&](const char* k) {
    Napi::Value v = o.Get(k);
    return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  };
  opt.ciphers = str("ciphers");
  opt.ciphersuites = str("ciphersuites");
  std::string mv = str("minVersion");
  if (mv == "TLSv1") opt.minVersion = TLS1_VERSION;
  else if (mv == "TLSv1.1") opt.minVersion = TLS1_1_VERSION;
  else if (mv == "TLSv1.3") opt.minVersion = TLS1_3_VERSION;
  else if (mv.empty() || mv == "TLSv1.2") opt.minVersion = TLS1_2_VERSION;
  else {
    Napi::Error::New(env, "minVersion: unknown version " + mv).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string vf = str("verify");
  opt.verify = vf == "require" ? 2 : vf == "request" ? 1 : 0;
  if (o.Get("verifyDepth").IsNumber()) opt.depth = o.Get("verifyDepth").As<Napi::Number>().Int32Value();
  if (o.Get("handshakeTimeoutMs").IsNumber())
    cfg->timeoutMs = int64_t(o.Get("handshakeTimeoutMs").As<Napi::Number>().DoubleValue());
  cfg->ktls = o.Get("ktls").ToBoolean().Value();
  if (o.Get("alpn").IsArray()) {
    Napi::Array a = o.Get("alpn").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      std::string p = a.Get(i).ToString().Utf8Value();
      if (p.empty() || p.size() > 255) {
        Napi::Error::New(env, "alpn: a protocol name of 1 to 255 bytes: '" + p + "'").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      cfg->alpn.push_back(uint8_t(p.size()));
      cfg->alpn.insert(cfg->alpn.end(), p.begin(), p.end());
    }
  }
  struct CaFree {
    std::vector<X509*>& v;
    ~CaFree() {
      for (X509* x : v) X509_free(x);
    }
  } caFree{opt.ca};
  if (o.Get("ca").IsBuffer()) {
    Napi::Buffer<char> b = o.Get("ca").As<Napi::Buffer<char>>();
    BIO* bio = BIO_new_mem_buf(b.Data(), int(b.Length()));
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) opt.ca.push_back(x);
    ERR_clear_error();
    BIO_free(bio);
    if (opt.ca.empty() && b.Length() > 0) {
      Napi::Error::New(env, "CA file: no PEM certificate in it").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (!o.Get("pairs").IsArray() || o.Get("pairs").As<Napi::Array>().Length() == 0) {
    Napi::Error::New(env, "no certificate and key").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array pairs = o.Get("pairs").As<Napi::Array>();
  for (uint32_t i = 0; i < pairs.Length(); i++) {
    if (!pairs.Get(i).IsObject()) continue;
    Napi::Object p = pairs.Get(i).As<Napi::Object>();
    std::string name = p.Get("name").IsString() ? p.Get("name").As<Napi::String>().Utf8Value() : "";
    if (!p.Get("cert").IsBuffer() || !p.Get("key").IsBuffer()) {
      Napi::TypeError::New(env, "pairs: cert and key are Buffers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Buffer<char> cert = p.Get("cert").As<Napi::Buffer<char>>();
    Napi::Buffer<char> key = p.Get("key").As<Napi::Buffer<char>>();
    SSL_CTX* ctx = nullptr;
    std::string err = makeCtx(opt, name, cert.Data(), cert.Length(), key.Data(), key.Length(), cfg.get(), &ctx);
    if (!err.empty()) {
      Napi::Error::New(env, err).ThrowAsJavaScriptException();
      return env.Undefined();  // cfg (and the contexts made so far) freed; the old one stays
    }
    if (name.empty() && !cfg->def) cfg->def = ctx;
    else cfg->named.emplace_back(name, ctx);
  }
  if (!cfg->def) {  // no default pair: the first named one serves clients without SNI
    cfg->def = cfg->named[0].second;
    SSL_CTX_up_ref(cfg->def);
  }
  std::lock_guard<std::mutex> g(cfgLock);
  *current = cfg;
  return env.Undefined();
}

Napi::Value Handshake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state || info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "tlsHandshake(fd) after tlsSetup").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::shared_ptr<Config> cfg;
  {
    std::lock_guard<std::mutex> g(cfgLock);
    cfg = *current;
  }
  if (!cfg) {
    Napi::Error::New(env, "tlsHandshake: not configured").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SSL* ssl = SSL_new(cfg->def);
  if (!ssl) {
    Napi::Error::New(env, sslError("SSL_new")).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || !SSL_set_fd(ssl, fd)) {
    int e = errno;
    SSL_free(ssl);
    return ThrowErrno(env, "fcntl", e ? e : EBADF);
  }
  SSL_set_accept_state(ssl);
  int32_t id = state->nextId++;
  if (state->nextId == INT32_MAX) state->nextId = 1;
  Conn* c = new Conn();
  c->id = id;
  c->fd = fd;
  c->ssl = ssl;
  c->cfg = cfg;
  c->w = state->workers[size_t(id) % state->workers.size()];
  SSL_set_ex_data(ssl, connIndex, c);
  if (cfg->ktls) {
    c->kt.reset(new KtlsState());
    SSL_set_msg_callback(ssl, onMessage);
  }
  if (state->live.empty()) refLoop(true);
  state->live[id] = HANDSHAKE;
  command(c->w, {0, c, id, -1});
  return Napi::Number::New(env, id);
}

Napi::Value Relay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state || info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "tlsRelay(id, fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int32_t id = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  auto it = state->live.find(id);
  if (it == state->live.end() || it->second != WAITING) {
    Napi::Error::New(env, "tlsRelay: no such connection waiting").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t idleMs = 0;
  if (info.Length() >= 3 && info[2].IsNumber()) idleMs = int64_t(info[2].As<Napi::Number>().DoubleValue());
  if (idleMs < 0) idleMs = 0;
  it->second = RELAY;
  command(state->workers[size_t(id) % state->workers.size()], {1, nullptr, id, fd, idleMs});
  return env.Undefined();
}

Napi::Value Drop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state || info.Length() < 1 || !info[0].IsNumber()) return env.Undefined();
  int32_t id = info[0].As<Napi::Number>().Int32Value();
  auto it = state->live.find(id);
  if (it == state->live.end()) return env.Undefined();
  // A relay ends with its event (onEnd once); any other ends here, silently.
  if (it->second != RELAY) {
    state->live.erase(it);
    if (state->live.empty()) refLoop(false);
  }
  command(state->workers[size_t(id) % state->workers.size()], {2, nullptr, id, -1});
  return env.Undefined();
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return ThrowErrno(env, "socketpair", errno);
  Napi::Array r = Napi::Array::New(env, 2);
  r.Set(0u, Napi::Number::New(env, sv[0]));
  r.Set(1u, Napi::Number::New(env, sv[1]));
  return r;
}

}  // namespace

void InitTls(Napi::Env env, Napi::Object exports) {
  exports.Set("tlsSetup", Napi::Function::New(env, Setup, "tlsSetup"));
  exports.Set("tlsConfigure", Napi::Function::New(env, Configure, "tlsConfigure"));
  exports.Set("tlsHandshake", Napi::Function::New(env, Handshake, "tlsHandshake"));
  exports.Set("tlsRelay", Napi::Function::New(env, Relay, "tlsRelay"));
  exports.Set("tlsDrop", Napi::Function::New(env, Drop, "tlsDrop"));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
}

#endif  // OpenSSL's headers
