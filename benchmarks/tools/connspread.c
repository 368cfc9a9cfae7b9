/* connspread: N connections, each from another source address on loopback.
 * usage: connspread PORT N THREADS
 * Every connection binds 127.a.b.c (counting up from 127.0.0.2), connects
 * to 127.0.0.1:PORT, reads to EOF and closes with RST. Prints ok= err= secs=. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst;
static long total, next = 0, ok, err;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
  char buf[4096];
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    long i = next++;
    pthread_mutex_unlock(&mu);
    if (i >= total) return 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { __sync_fetch_and_add(&err, 1); continue; }
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl((127u << 24) | (unsigned)(2 + i % 16000000));
    ssize_t r = -1;
    long got = 0;
    if (bind(fd, (void *)&src, sizeof src) == 0 && connect(fd, (void *)&dst, sizeof dst) == 0)
      while ((r = read(fd, buf, sizeof buf)) > 0) got += r;
    close(fd);
    if (r == 0 && got > 0) __sync_fetch_and_add(&ok, 1); else __sync_fetch_and_add(&err, 1);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: connspread PORT N THREADS\n"); return 100; }
  dst.sin_family = AF_INET;
  dst.sin_port = htons(atoi(argv[1]));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  total = atol(argv[2]);
  int n = atoi(argv[3]);
  if (n < 1 || n > 256) n = 16;
  pthread_t th[256];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) pthread_create(&th[i], 0, worker, 0);
  for (int i = 0; i < n; i++) pthread_join(th[i], 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("ok=%ld err=%ld secs=%.2f\n", ok, err, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
