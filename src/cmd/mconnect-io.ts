// mconnect-io: mconnect's copier between the terminal and tcpclient's fds 6 and 7 (src/client/mconnect.ts).
import { mconnectIo } from '../client/mconnect';

export function main(): void {
  mconnectIo();
}
