// unixclient: ucspi-unix's UNIX-domain socket client (prog on fds 6 and 7).
import { runUnixClient } from '../unix/client';

export function main(argv: string[]): void {
  runUnixClient(argv, 'unixclient');
}
