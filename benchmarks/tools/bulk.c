/* bulk: the bulk-transfer service: writes SIZE bytes (default 2 GiB) to fd 1 and exits. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  static char buf[1 << 20];
  long long left = argc > 1 ? atoll(argv[1]) : 2LL << 30;
  memset(buf, 'x', sizeof buf);
  while (left > 0) {
    ssize_t w = write(1, buf, left < (long long)sizeof buf ? (size_t)left : sizeof buf);
    if (w <= 0) return 111;
    left -= w;
  }
  return 0;
}
