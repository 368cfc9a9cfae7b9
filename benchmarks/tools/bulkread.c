/* bulkread: connects once, reads to EOF, prints bytes, seconds and MB/s.
 * usage: bulkread HOST PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: bulkread HOST PORT\n"); return 100; }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[2])); inet_pton(AF_INET, argv[1], &a.sin_addr);
  static char buf[1 << 20];
  double t0 = now();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (void *)&a, sizeof a) < 0) { perror("bulkread: connect"); return 111; }
  long long got = 0; ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) got += r;
  if (r < 0) { perror("bulkread: read"); return 111; }
  double el = now() - t0;
  printf("bytes=%lld secs=%.3f rate=%.1fMB/s\n", got, el, got / el / 1e6);
  return 0;
}
