/* connproxy: connbench's open-read-close loop for a server behind a PROXY
 * protocol balancer: each connection first sends a version 2 header (PROXY,
 * TCP over IPv4, source 192.0.2.1 with a port that changes per connection,
 * destination the server), as HAProxy's send-proxy-v2 does, then reads until
 * EOF and closes.
 * usage: connproxy HOST PORT CONCURRENCY SECONDS
 * Prints conn/s and latency percentiles (ms) in connbench's format. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst;
static double deadline;
typedef struct { long ok, err; double *lat; long nlat, cap; unsigned seq; } stat_t;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

/* The 28-byte header: signature, version 2 PROXY, AF_INET STREAM, 12 bytes of addresses. */
static void header(unsigned char *h, uint16_t sport) {
  static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
  memcpy(h, sig, 12);
  h[12] = 0x21; h[13] = 0x11; h[14] = 0; h[15] = 12;
  h[16] = 192; h[17] = 0; h[18] = 2; h[19] = 1;
  memcpy(h + 20, &dst.sin_addr, 4);
  h[24] = sport >> 8; h[25] = sport & 0xff;
  memcpy(h + 26, &dst.sin_port, 2);
}

static void *worker(void *arg) {
  stat_t *s = arg; char buf[65536]; unsigned char h[28];
  while (now() < deadline) {
    double t0 = now();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { s->err++; continue; }
    struct linger lg = {1, 0}; /* RST on close, as connbench */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (connect(fd, (void *)&dst, sizeof dst) < 0) { s->err++; close(fd); usleep(1000); continue; }
    header(h, (uint16_t)(1024 + (s->seq++ % 60000)));
    if (write(fd, h, sizeof h) != (ssize_t)sizeof h) { s->err++; close(fd); continue; }
    long got = 0; ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) got += r;
    close(fd);
    if (r < 0 || got == 0) { s->err++; continue; }
    s->ok++;
    if (s->nlat == s->cap) { s->cap = s->cap ? s->cap * 2 : 4096; s->lat = realloc(s->lat, s->cap * sizeof(double)); }
    s->lat[s->nlat++] = (now() - t0) * 1000;
  }
  return 0;
}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: connproxy HOST PORT CONCURRENCY SECONDS\n"); return 100; }
  dst.sin_family = AF_INET; dst.sin_port = htons(atoi(argv[2])); inet_pton(AF_INET, argv[1], &dst.sin_addr);
  int n = atoi(argv[3]); double secs = atof(argv[4]);
  if (n < 1 || n > 1024) { fprintf(stderr, "connproxy: concurrency 1 to 1024\n"); return 100; }
  pthread_t th[1024]; static stat_t st[1024];
  double t0 = now(); deadline = t0 + secs;
  for (int i = 0; i < n; i++) pthread_create(&th[i], 0, worker, &st[i]);
  long ok = 0, err = 0, nl = 0;
  for (int i = 0; i < n; i++) { pthread_join(th[i], 0); ok += st[i].ok; err += st[i].err; nl += st[i].nlat; }
  double el = now() - t0;
  double *all = malloc((nl + 1) * sizeof(double)); long k = 0;
  for (int i = 0; i < n; i++) { memcpy(all + k, st[i].lat, st[i].nlat * sizeof(double)); k += st[i].nlat; }
  qsort(all, nl, sizeof(double), cmp);
  double p50 = nl ? all[nl / 2] : 0, p99 = nl ? all[(long)(nl * 0.99)] : 0, mx = nl ? all[nl - 1] : 0;
  printf("conns=%ld errors=%ld secs=%.2f rate=%.1f/s p50=%.3fms p99=%.3fms max=%.3fms\n", ok, err, el, ok / el, p50, p99, mx);
  return 0;
}
