// What a rule store (instructions directory or ipsvd-cdb output) yields for
// one name: the same three kinds of entry ipsvd-cdb writes as the last byte of
// a record. D: deny; X: shell command; I: instruction lines separated by NUL.
import type { PrefixLens } from './candidates';

export type Entry =
  | { type: 'D' }
  | { type: 'X'; text: Buffer }
  | { type: 'I'; text: Buffer };

/** One consistent look at a store, taken per connection. */
export interface View {
  /** CIDR prefix lengths worth probing (see candidates.ts). */
  readonly lens: PrefixLens;
  /** The entry for name, or undefined when there is none (or it just expired). */
  lookup(name: string): Entry | undefined;
  /** How ipsvd names an entry in warnings: the path for a directory, the key for a cdb. */
  label(name: string): string;
}

export interface Store {
  /** Throws when the store itself cannot be read: the caller fails closed. */
  view(): View;
}
