// Per-host concurrency (tcpsvd -C n[:msg], ipsvd's C instruction), the whole
// life of one count:
//   admit()   at accept, before identify and the rules: the client counts
//             from then on, and its count includes itself (Engine.accept);
//   over()    once the rules have decided: the rule's C overrides -C; over
//             the limit the connection is denied and sent the message
//             (Engine.launch);
//   release() when the connection ends, whichever way: child exited, child
//             could not start, denied, dropped (Engine.end, the one place
//             every connection passes last).
// Per-prefix limits would live here too.
import type { Decision } from '../decide/decision';
import { HostCounts } from './hosts';

export class PerHost {
  private readonly counts = new HostCounts();

  /** -C's limit (0 = none) and message (already unescaped; undefined or '' = none). */
  constructor(private readonly limit: number, private readonly msg: string | undefined) {}

  /** The client's live connections, this one included. */
  admit(ip: string): number {
    return this.counts.add(ip);
  }

  /** The limit that holds for this client: the rule's C, else -C; 0 = none. */
  limitFor(d: Decision): number {
    return d.perHost ? d.perHost.limit : this.limit;
  }

  /** The message sent to a client over its limit, or undefined for none. */
  messageFor(d: Decision): string | undefined {
    const m = d.perHost && d.perHost.msg !== undefined ? d.perHost.msg : this.msg;
    return m ? m : undefined;
  }

  release(ip: string): void {
    this.counts.remove(ip);
  }

  /** Hosts with live connections (the map never outgrows the clients). */
  get hosts(): number {
    return this.counts.size;
  }
}
