// delcr: ucspi-tcp's filter (src/lines/crlf.ts, src/lines/filter.ts).
import { delcr } from '../lines/crlf';
import { runFilter } from '../lines/filter';

export function main(): void {
  runFilter(delcr());
}
