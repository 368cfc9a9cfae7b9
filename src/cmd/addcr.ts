// addcr: ucspi-tcp's filter (src/lines/crlf.ts, src/lines/filter.ts).
import { addcr } from '../lines/crlf';
import { runFilter } from '../lines/filter';

export function main(): void {
  runFilter(addcr());
}
