// Per-host concurrency (tcpsvd -C n[:msg], ipsvd's C instruction; tcpserver
// --per-host=n[:msg] with the rules' MAXCONNIP, MAXCONNC and DIEMSG), the
// whole life of one count:
//   admit()   at accept, before identify and the rules: the client counts
//             from then on, and its count includes itself (Engine.accept);
//   check()   once the rules have decided: the rule's limit overrides the
//             option's; over the limit the connection is denied and sent the
//             message (Engine.launch);
//   release() when the connection ends, whichever way: child exited, child
//             could not start, denied, dropped (Engine.end, the one place
//             every connection passes last).
// With --prefix the count is per network (keyer, prefix.ts) instead of per address.
import type { Decision } from '../decide/decision';
import { fromBytes } from '../lib/bytes';
import { HostCounts } from './hosts';
import { type Keyer, byAddress, prefixKeyer } from './prefix';

export interface PerHostConfig {
  /** The option's limit (0 = none) and message (already unescaped; undefined or '' = none). */
  limit: number;
  msg?: string;
  /** --prefix: count per network rather than per address. */
  keyer?: Keyer;
  /**
   * tcpserver --per-host: the limits come from the rules' variables, as the
   * ucspi-tcp limits patch reads them: MAXCONNIP (per host, or per prefix with
   * --prefix), MAXCONNC (per /24; per /64 for IPv6), DIEMSG (the message, CRLF
   * added). 0 is a limit there: every client refused.
   */
  rulesVars?: boolean;
  /** With --prefix and --status: count per address as well, for the status (its per_address). */
  addressesToo?: boolean;
}

/** What the engine keeps on a connection for its counts. */
export interface Counted {
  readonly remoteIp: string;
  /** The key counted under (the address, or its prefix). */
  phKey: string;
  /** Count at admission, this connection included (0 when not counted). */
  phcc: number;
  /** tcpserver's MAXCONNC block (/24, /64) and its count. */
  blKey?: string;
  blcc: number;
}

/** One check's outcome: the count and limit that held, and whether the client is over it. */
export interface Verdict {
  key: string;
  n: number;
  limit: number;
  over: boolean;
  /** The message to send when over (undefined: none). */
  msg?: string;
}

/** A rules variable that is no limit: the connection is dropped, naming it. */
export interface BadVar {
  bad: string;
  value: string;
}

const CLASS_C = prefixKeyer({ v4: 24, v6: 64 });

export class PerHost {
  private readonly counts = new HostCounts();
  private readonly blocks: HostCounts | undefined;
  private readonly addresses: HostCounts | undefined;
  private readonly keyOf: Keyer;
  private readonly limit: number;
  private readonly msg: string | undefined;
  private readonly rulesVars: boolean;

  constructor(cfg: PerHostConfig) {
    this.limit = cfg.limit;
    this.msg = cfg.msg ? cfg.msg : undefined;
    this.keyOf = cfg.keyer ?? byAddress;
    this.rulesVars = cfg.rulesVars === true;
    if (this.rulesVars) this.blocks = new HostCounts();
    if (cfg.addressesToo && cfg.keyer) this.addresses = new HostCounts();
  }

  /** Counts the client (and its block): its live connections, this one included. */
  admit(c: Counted): number {
    c.phKey = this.keyOf(c.remoteIp);
    c.phcc = this.counts.add(c.phKey);
    if (this.blocks) {
      c.blKey = CLASS_C(c.remoteIp);
      c.blcc = this.blocks.add(c.blKey);
    }
    if (this.addresses) this.addresses.add(c.remoteIp);
    return c.phcc;
  }

  /** The limit that holds for this client, and whether it is over; null when none holds. */
  check(c: Counted, d: Decision): Verdict | BadVar | null {
    if (this.rulesVars) return this.checkVars(c, d);
    const limit = d.perHost ? d.perHost.limit : this.limit;
    if (limit <= 0) return null;
    const m = d.perHost && d.perHost.msg !== undefined ? d.perHost.msg : this.msg;
    return { key: c.phKey, n: c.phcc, limit, over: c.phcc > limit, msg: m ? m : undefined };
  }

  private checkVars(c: Counted, d: Decision): Verdict | BadVar | null {
    let ip: number | undefined = this.limit > 0 ? this.limit : undefined;
    let block: number | undefined;
    let msg = this.msg;
    for (const [k, v] of d.set) {
      if (k === 'MAXCONNIP' || k === 'MAXCONNC') {
        if (!/^\d{1,15}$/.test(v)) return { bad: k, value: v };
        if (k === 'MAXCONNIP') ip = Number(v);
        else block = Number(v);
      } else if (k === 'DIEMSG') {
        msg = fromBytes(v) + '\r\n';
      }
    }
    // The host's limit first, then the block's: the first one exceeded decides.
    let first: Verdict | null = null;
    if (ip !== undefined) {
      first = { key: c.phKey, n: c.phcc, limit: ip, over: c.phcc > ip, msg };
      if (first.over) return first;
    }
    if (block !== undefined && c.blKey !== undefined) {
      const v = { key: c.blKey, n: c.blcc, limit: block, over: c.blcc > block, msg };
      if (v.over || !first) return v;
    }
    return first;
  }

  release(c: Counted): void {
    this.counts.remove(c.phKey);
    if (this.blocks && c.blKey !== undefined) this.blocks.remove(c.blKey);
    if (this.addresses) this.addresses.remove(c.remoteIp);
  }

  /** Hosts (or prefixes) with live connections (the map never outgrows the clients). */
  get hosts(): number {
    return this.counts.size;
  }

  /** The largest counts, at most n of them, largest first: for the status file. */
  top(n: number): Array<[string, number]> {
    return this.counts.top(n);
  }

  /** tcpserver's blocks (MAXCONNC) with live connections, largest first. */
  topBlocks(n: number): { keys: number; top: Array<[string, number]> } | undefined {
    return this.blocks && { keys: this.blocks.size, top: this.blocks.top(n) };
  }

  /** With addressesToo: the addresses with live connections, largest counts first. */
  topAddresses(n: number): { keys: number; top: Array<[string, number]> } | undefined {
    return this.addresses && { keys: this.addresses.size, top: this.addresses.top(n) };
  }
}
