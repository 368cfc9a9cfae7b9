// tcpclient: ucspi-tcp 0.88's TCP client (src/client/tcpclient.ts).
import { tcpclient } from '../client/tcpclient';

export function main(argv: string[]): void {
  void tcpclient(argv);
}
