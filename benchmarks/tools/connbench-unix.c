/* connbench-unix: connbench's loop over a UNIX-domain stream socket.
 * usage: connbench-unix PATH CONCURRENCY SECONDS
 * Each worker loops: connect, read until EOF, close. Prints conn/s and latency percentiles (ms). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_un dst;
static double deadline;
typedef struct { long ok, err; double *lat; long nlat, cap; } stat_t;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void *worker(void *arg) {
  stat_t *s = arg;
  char buf[4096];
  while (now() < deadline) {
    double t0 = now();
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) { s->err++; continue; }
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) { s->err++; close(fd); usleep(1000); continue; }
    long got = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) got += r;
    close(fd);
    if (r < 0 || got == 0) { s->err++; continue; }
    s->ok++;
    if (s->nlat == s->cap) { s->cap = s->cap ? s->cap * 2 : 4096; s->lat = realloc(s->lat, s->cap * sizeof(double)); }
    s->lat[s->nlat++] = (now() - t0) * 1000;
  }
  return 0;
}

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: connbench-unix PATH CONCURRENCY SECONDS\n"); return 100; }
  dst.sun_family = AF_UNIX;
  if (strlen(argv[1]) >= sizeof dst.sun_path) { fprintf(stderr, "connbench-unix: path too long\n"); return 100; }
  strcpy(dst.sun_path, argv[1]);
  int n = atoi(argv[2]);
  double secs = atof(argv[3]);
  if (n < 1 || n > 1024) { fprintf(stderr, "connbench-unix: concurrency 1 to 1024\n"); return 100; }
  pthread_t th[1024];
  static stat_t st[1024];
  double t0 = now();
  deadline = t0 + secs;
  for (int i = 0; i < n; i++) pthread_create(&th[i], 0, worker, &st[i]);
  long ok = 0, err = 0, nl = 0;
  for (int i = 0; i < n; i++) { pthread_join(th[i], 0); ok += st[i].ok; err += st[i].err; nl += st[i].nlat; }
  double el = now() - t0;
  double *all = malloc((nl + 1) * sizeof(double));
  long k = 0;
  for (int i = 0; i < n; i++) { memcpy(all + k, st[i].lat, st[i].nlat * sizeof(double)); k += st[i].nlat; }
  qsort(all, nl, sizeof(double), cmp);
  double p50 = nl ? all[nl / 2] : 0, p99 = nl ? all[(long)(nl * 0.99)] : 0;
  printf("conns=%ld errors=%ld secs=%.2f rate=%.1f/s p50=%.3fms p99=%.3fms\n", ok, err, el, ok / el, p50, p99);
  return 0;
}
