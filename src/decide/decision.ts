// What the rules say about one connection: a plain value, shared by both
// rule sources (tcpserver's rules CDB and ipsvd's instructions dir or CDB).

export interface Decision {
  action: 'allow' | 'deny';
  /**
   * Variables to put into prog's environment, in the order the rule gave them;
   * byte strings (one char per byte, latin1), as the launchers take them.
   */
  set: Array<[name: string, value: string]>;
  /** Variables that must not be in prog's environment (ipsvd `+VAR`); byte strings too. */
  unset: string[];
  /** ipsvd `Cn[:msg]`: per-host concurrency for this client (0 = no limit). */
  perHost?: { limit: number; msg?: string };
  /** ipsvd executable instruction file: run `/bin/sh -c shell` instead of prog. */
  shell?: string;
  /** The key or file name that matched, for log lines; undefined when nothing matched. */
  matched?: string;
}

/** What is known of the client when the rules are consulted. */
export interface Peer {
  /** Dotted quad for IPv4 (IPv4-mapped IPv6 already unmapped), RFC 5952 text for IPv6. */
  ip: string;
  /** Lower-cased, validated PTR name, when looked up and found. */
  host?: string;
  /** RFC 1413 answer, when asked and answered. */
  info?: string;
}

/** Forward lookup used by ipsvd's `=hostname` check: every A and AAAA address of name. */
export type HostResolver = (name: string) => Promise<string[]>;

/**
 * A rule source. decide() is synchronous unless it has to ask DNS (ipsvd `=hostname`),
 * so the common path costs no promise. It throws when the source cannot be read:
 * the caller then fails closed for that connection.
 */
export interface RuleSource {
  decide(peer: Peer, resolve: HostResolver): Decision | Promise<Decision>;
}

export const ALLOW_DEFAULT: Readonly<Decision> = Object.freeze({ action: 'allow', set: [], unset: [] }) as Decision;
