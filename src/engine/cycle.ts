// The part of a connection's life both engines share, for one TCP client
// (engine.ts) or one datagram (udp.ts): identify → decide → the failure
// policy. What is asked for is fixed at start; the engine is told the
// outcome through three steps of its own, which say it in its log's words and
// do what its protocol does with the client (close it, discard the datagram).
import { ALLOW_DEFAULT, type Decision, type HostResolver, type RuleSource } from '../decide/decision';
import type { Identifier, IdentifyFailure, IdentifyOptions, Subject } from '../identify/identify';

export interface CycleConfig {
  /** The look-ups, or null when there is nothing to look up (needsIdentify). */
  identify: Identifier | null;
  /** What is looked up for each client. */
  lookups: IdentifyOptions;
  /** The rule source; none: every client is allowed (ALLOW_DEFAULT). */
  rules?: {
    source: RuleSource | null;
    /** Why the source could not be opened at start, when it could not. */
    openError?: NodeJS.ErrnoException;
    /** tcpserver -X: a missing rules file allows. */
    allowMissing?: boolean;
  };
  /** Forward look-ups for the rules' by-name entries (ipsvd's =host). */
  resolve: HostResolver;
}

export interface CycleSteps<S> {
  /** What the rules say (ALLOW_DEFAULT without rules): the engine applies it. */
  decided(s: S, d: Decision): void;
  /** A look-up that must succeed failed (ipsvd: the local name): the client is dropped. */
  lookupFailed(s: S, f: IdentifyFailure): void;
  /** The rules could not be read: the client is dropped (fail closed). */
  unreadable(s: S, e: NodeJS.ErrnoException | string): void;
}

export class Cycle<S extends Subject> {
  constructor(private readonly cfg: CycleConfig, private readonly steps: CycleSteps<S>) {}

  /** Identify s, then decide; the outcome goes to one of the steps, once. */
  run(s: S): void {
    const id = this.cfg.identify;
    if (!id) return this.decide(s);
    // A look-up that fails unexpectedly leaves the names unknown: the rules still decide.
    id.identify(s, this.cfg.lookups).then((failed) => {
      if (!failed) return this.decide(s);
      this.steps.lookupFailed(s, failed);
    }, () => this.decide(s));
  }

  private decide(s: S): void {
    const r = this.cfg.rules;
    if (!r) return this.steps.decided(s, ALLOW_DEFAULT);
    if (!r.source) return this.failed(s, r.openError ?? 'not open');
    let d: Decision | Promise<Decision>;
    try {
      d = r.source.decide({ ip: s.remoteIp, host: s.remoteHost, info: s.remoteInfo }, this.cfg.resolve);
    } catch (e) {
      return this.failed(s, e as NodeJS.ErrnoException);
    }
    if (d instanceof Promise) d.then((x) => this.steps.decided(s, x), (e) => this.failed(s, e));
    else this.steps.decided(s, d);
  }

  private failed(s: S, e: NodeJS.ErrnoException | string): void {
    // tcpserver -X: a missing rules file allows; any other failure drops (fail closed).
    if (this.cfg.rules!.allowMissing && typeof e !== 'string' && e.code === 'ENOENT') return this.steps.decided(s, ALLOW_DEFAULT);
    this.steps.unreadable(s, e);
  }
}

/** What a decision makes of the client: denied, prog started, or an instruction's command run in its place. */
export function verdictOf(d: Decision): 'deny' | 'exec' | 'start' {
  return d.action === 'deny' ? 'deny' : d.shell !== undefined ? 'exec' : 'start';
}

/** The program an allowed client gets: the server's, or an executable instruction's command through sh. */
export function argvOf(d: Decision, prog: string[]): string[] {
  return d.shell !== undefined ? ['/bin/sh', '-c', d.shell] : prog;
}
