// One service as inetconv understands it, whichever file it came from.
import type { Where } from './hosts';
import type { XAccess } from './translate';

export interface Service {
  where: Where;
  /** The inetd service field (name or port), used for the service directory's name. */
  service: string;
  kind: 'tcp' | 'udp';
  host: string;
  port: string;
  user?: string;
  group?: string;
  program: string;
  /** argv, argv[0] first. */
  argv: string[];
  /** The name hosts.allow and hosts.deny know it by; undefined: the rules do not apply. */
  daemon?: string;
  concurrency?: number;
  perHost?: number;
  /** tcpsvd --rate=count/seconds: per client address. */
  rate?: { count: number; seconds: number };
  env: Array<[string, string]>;
  access?: XAccess;
}

/**
 * An internal service (echo, discard, daytime, chargen, time) as a line of
 * an inetd.conf for our one-process inetd, which serves them itself.
 * daemon: the name the access tables know it by when they apply (inetd -l).
 */
export interface InternalLine { where: Where; service: string; line: string; daemon?: string }

/** The internal services our inetd serves, by the names it knows them by, and their ports. */
export const INTERNAL: Record<string, number> = { echo: 7, discard: 9, daytime: 13, chargen: 19, time: 37 };

/** Something in the input that is not (or not wholly) converted. */
export interface Note { where: Where; what: string; reason: string }

export const TCPD = '/usr/sbin/tcpd';

/**
 * "/usr/sbin/tcpd in.fingerd": tcpd runs its own argv[0] (a path, or a name
 * in /usr/sbin, its real_daemon_dir) with the argv it was given. undefined
 * when program is not tcpd.
 */
export function unwrap(program: string, argv: string[]): { program: string; argv: string[] } | undefined {
  if (!/(^|\/)tcpd$/.test(program) || argv.length === 0) return undefined;
  const real = argv[0].startsWith('/') ? argv[0] : `/usr/sbin/${argv[0]}`;
  return { program: real, argv };
}
