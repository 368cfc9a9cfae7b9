/* bin/<command> where a C compiler was at hand (scripts/launcher.js copies
 * this program once per command and writes the Node to start, and its flags,
 * into each copy's CONFIG). It does what the sh prelude of the other form of
 * bin/<command> does, without a shell: a shell drops every variable whose
 * name is not a shell identifier (s6's CERTFILE:name, an envdir file named
 * a.b), and the originals pass the whole environment on, byte for byte.
 *
 * Before Node starts:
 * - every NODE_*, UV_* and OPENSSL_* variable is renamed UCSPI_SAVED_<name>
 *   (an existing UCSPI_SAVED_*, UCSPI_NOFILE or UCSPI_SIGIGN one level
 *   deeper): Node reads them at start, and they are meant for the programs;
 * - UCSPI_NOFILE: the soft descriptor limit (Node raises it);
 * - UCSPI_CLOSED_FDS: which of fds 2, 0, 1 were closed (Node reopens them);
 * - UCSPI_SIGIGN: the ignored signals, as /proc's SigIgn (Node resets them);
 * - UCSPI_BIN: the path this was started by (the kernel's AT_EXECFN), which
 *   the bundle makes its argv[1], as sh's $0 was.
 * Then Node runs dist/cmd/<command>.js, found beside the real file of this
 * program (symlinks resolved, as Node resolves a script's). The bundle's
 * first lines (scripts/banner.js) put everything back.
 * Exit 111 with a message when Node cannot be started. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/* Written by scripts/launcher.js into each copy, after the marker:
 * node's path, NUL, each flag, NUL, and an empty string to end. */
static volatile const char CONFIG[4096] = "UCSPI-LAUNCHER-CONFIG\n";
#define MARKER_LEN 22

static void fail(const char *name, const char *what, int e) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "%s: fatal: %s: %s\n", name, what, strerror(e));
  if (n > 0) (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  _exit(111);
}

static int saved(const char *v) {
  static const char *const prefixes[] = {"NODE_", "UV_", "OPENSSL_", "UCSPI_SAVED_"};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
    size_t n = strlen(prefixes[i]);
    /* A prefix and at least one more character before '=': NODE_x=..., not NODE_=... */
    if (strncmp(v, prefixes[i], n) == 0 && v[n] != '=' && v[n] != '\0' && strchr(v + n, '=')) return 1;
  }
  return strncmp(v, "UCSPI_NOFILE=", 13) == 0 || strncmp(v, "UCSPI_SIGIGN=", 13) == 0;
}

int main(int argc, char **argv) {
  (void)argc;
  const char *execfn = (const char *)getauxval(AT_EXECFN);
  if (!execfn || !*execfn) execfn = argv[0] ? argv[0] : "";
  const char *slash = strrchr(execfn, '/');
  const char *shown = slash ? slash + 1 : execfn;

  /* The bundle: dist/cmd/<name>.js beside bin/ of this program's real file. */
  char real[PATH_MAX];
  if (!realpath(execfn, real)) {
    ssize_t n = readlink("/proc/self/exe", real, sizeof real - 1);
    if (n < 0) fail(shown, "cannot find where this program is", errno);
    real[n] = '\0';
  }
  char *base = strrchr(real, '/');
  if (!base) fail(shown, "cannot find where this program is", ENOENT);
  *base++ = '\0';
  char script[PATH_MAX + 64];
  if ((size_t)snprintf(script, sizeof script, "%s/../dist/cmd/%s.js", real, base) >= sizeof script)
    fail(shown, "cannot find where this program is", ENAMETOOLONG);

  /* UCSPI_BIN: as $0 was, made absolute as Node makes argv[1]. */
  char cwd[PATH_MAX];
  char *binvar;
  if (execfn[0] != '/' && getcwd(cwd, sizeof cwd)) {
    if (asprintf(&binvar, "UCSPI_BIN=%s/%s", cwd, execfn) < 0) fail(shown, "out of memory", ENOMEM);
  } else if (asprintf(&binvar, "UCSPI_BIN=%s", execfn) < 0) {
    fail(shown, "out of memory", ENOMEM);
  }

  struct rlimit rl;
  char nofile[40] = "UCSPI_NOFILE=unlimited";
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    snprintf(nofile, sizeof nofile, "UCSPI_NOFILE=%llu", (unsigned long long)rl.rlim_cur);

  char closed[32] = "UCSPI_CLOSED_FDS=";
  static const int order[] = {2, 0, 1};
  for (int i = 0; i < 3; i++) {
    if (fcntl(order[i], F_GETFD) >= 0 || errno != EBADF) continue;
    size_t l = strlen(closed);
    snprintf(closed + l, sizeof closed - l, "%s%d", l > 17 ? "," : "", order[i]);
  }

  /* The raw call: glibc's sigaction refuses its own internal signals. */
  unsigned long long mask = 0;
  for (int sig = 1; sig <= 64; sig++) {
    unsigned long ksa[4] = {0, 0, 0, 0};
    if (syscall(SYS_rt_sigaction, sig, NULL, ksa, 8) == 0 && ksa[0] == (unsigned long)SIG_IGN) mask |= 1ULL << (sig - 1);
  }
  char sigign[40];
  snprintf(sigign, sizeof sigign, "UCSPI_SIGIGN=%016llx", mask);

  size_t n = 0;
  while (environ[n]) n++;
  char **env = malloc((n + 6) * sizeof *env);
  if (!env) fail(shown, "out of memory", ENOMEM);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    /* A caller's UCSPI_BIN and UCSPI_CLOSED_FDS go one level deeper too: ours are set below. */
    if (saved(environ[i]) || strncmp(environ[i], "UCSPI_BIN=", 10) == 0 ||
        strncmp(environ[i], "UCSPI_CLOSED_FDS=", 17) == 0) {
      if (asprintf(&env[k], "UCSPI_SAVED_%s", environ[i]) < 0) fail(shown, "out of memory", ENOMEM);
      k++;
    } else {
      env[k++] = environ[i];
    }
  }
  env[k++] = nofile;
  env[k++] = closed;
  if (mask) env[k++] = sigign;
  env[k++] = binvar;
  env[k] = NULL;

  /* Node and its flags, from CONFIG. */
  const char *cfg = (const char *)CONFIG + MARKER_LEN;
  const char *node = cfg;
  char *args[64 + 3];
  size_t a = 0;
  args[a++] = (char *)node;
  const char *p = node + strlen(node) + 1;
  while (*p && a < 64) {
    args[a++] = (char *)p;
    p += strlen(p) + 1;
  }
  char **nargv = malloc((a + 2 + (size_t)argc) * sizeof *nargv);
  if (!nargv) fail(shown, "out of memory", ENOMEM);
  size_t m = 0;
  for (size_t i = 0; i < a; i++) nargv[m++] = args[i];
  nargv[m++] = script;
  for (int i = 1; i < argc; i++) nargv[m++] = argv[i];
  nargv[m] = NULL;

  if (*node) {
    execve(node, nargv, env);
    if (errno != ENOENT && errno != EACCES && errno != ENOTDIR) fail(shown, "unable to run node", errno);
  }
  /* That Node is gone: node on PATH, as the sh form does. */
  nargv[0] = "node";
  environ = env;
  execvp("node", nargv);
  fail(shown, "unable to run node", errno);
  return 111;
}
