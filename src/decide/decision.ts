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
 * One step of a decision as the source takes it, for tcpexplain. The server
 * passes no tracer: a source builds these only when given one.
 */
export type TraceEvent =
  /** A key or entry name tried, in lookup order; skipped: not probed, the source holds no key of that CIDR length. */
  | { kind: 'candidate'; step: string; key: string; name: string; result: 'found' | 'absent' | 'skipped';
      /** tcprules: the rule's value; ipsvd: what the entry is. */
      value?: Buffer; entry?: 'deny' | 'exec' | 'instructions' }
  /** One instruction line of the ipsvd entry label (n from 1), read in order, and what it did. */
  | { kind: 'line'; label: string; n: number; text: string; did: string }
  /** The entry an =host:forward line named, found or not. */
  | { kind: 'forward'; name: string; label: string; result: 'found' | 'absent'; entry?: 'deny' | 'exec' | 'instructions' };

export type Trace = (e: TraceEvent) => void;

/**
 * A rule source. decide() is synchronous unless it has to ask DNS (ipsvd `=hostname`),
 * so the common path costs no promise. It throws when the source cannot be read:
 * the caller then fails closed for that connection. trace: tcpexplain's
 * tracer; with one, the same lookup reports each step (and remembers nothing
 * per client, so every step is taken).
 */
export interface RuleSource {
  decide(peer: Peer, resolve: HostResolver, trace?: Trace): Decision | Promise<Decision>;
}

export const ALLOW_DEFAULT: Readonly<Decision> = Object.freeze({ action: 'allow', set: [], unset: [] }) as Decision;
