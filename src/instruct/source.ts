// ipsvd's rule source for tcpsvd -i / -x: look the client up under each
// candidate name, act on the first entry found (deny, run a shell command, or
// follow instructions), or allow with nothing set when no name matches.
import { ALLOW_DEFAULT, type Decision, type HostResolver, type Peer, type RuleSource, type Trace } from '../decide/decision';
import { CdbError } from '../cdb/reader';
import { fromBytes } from '../lib/bytes';
import { candidates, candidateStep } from './candidates';
import { evaluate, type Outcome, type State } from './evaluate';
import { splitLines } from './parse';
import type { Entry, Store, View } from './store';

/**
 * A Decision plus the instruction text ipsvd shows at -vv: lines joined by
 * NUL, a forward entry's after a ',' (tcpsvd prints NUL as ',').
 */
export interface InstructDecision extends Decision {
  inst: string;
}

export class InstructSource implements RuleSource {
  constructor(private readonly store: Store, private readonly warn: (msg: string) => void) {}

  decide(peer: Peer, resolve: HostResolver, trace?: Trace): Decision | Promise<Decision> {
    // The store itself unreadable: ipsvd's "unable to read: <dir or cdb>".
    // A damaged cdb, though, or a -i "directory" that is a file, opens for
    // ipsvd and fails its lookup: "unable to check inst: <ip>: protocol
    // error" ("not a directory").
    let view: View;
    try {
      view = this.store.view();
    } catch (e) {
      if (e instanceof CdbError || (e as NodeJS.ErrnoException).code === 'ENOTDIR') throw checkInstFailure(e, peer.ip);
      throw e;
    }
    try {
      const names = candidates(peer.ip, peer.host, view.lens);
      for (let i = 0; i < names.length; i++) {
        const name = names[i];
        const e = view.lookup(name);
        if (trace) {
          trace({ kind: 'candidate', step: candidateStep(name, peer.ip, peer.host, i === names.length - 1), key: name, name: view.label(name),
            result: e ? 'found' : 'absent', entry: e && entryKind(e) });
        }
        if (e) return this.act(view, name, e, peer.ip, resolve, trace);
      }
    } catch (e) {
      // An entry unreadable (not a regular file, too big, damaged record):
      // ipsvd's "unable to check inst: <ip>" (see checkInstFailure).
      throw checkInstFailure(e, peer.ip);
    }
    return ALLOW_DEFAULT;
  }

  private act(view: View, name: string, e: Entry, ip: string, resolve: HostResolver, trace?: Trace): Decision | Promise<Decision> {
    if (e.type === 'D') return deny(name, '');
    if (e.type === 'X') return shell(name, e.text, { env: new Map() });
    const lines = splitLines(e.text);
    const state: State = { env: new Map() };
    const out = evaluate(lines, view.label(name), ip, state, resolve, this.warn, trace);
    const finish = (o: Outcome): Decision => {
      if (o.kind === 'deny') return deny(name, fromBytes(lines.join('\0')));
      const inst = fromBytes(lines.slice(0, o.upto + 1).join('\0'));
      if (o.kind === 'instruct') return allow(name, state, inst);
      return this.forward(view, name, o.forward, state, inst, resolve, trace);
    };
    return out instanceof Promise ? out.then(finish) : finish(out);
  }

  // The entry named by "=host:forward": checks in it are ignored; when it is
  // missing the client is denied.
  private forward(view: View, name: string, fwd: string, state: State, inst: string, resolve: HostResolver,
                  trace?: Trace): Decision {
    const matched = `${name},${fwd}`;
    const e = view.lookup(fwd);
    if (trace) trace({ kind: 'forward', name: fwd, label: view.label(fwd), result: e ? 'found' : 'absent', entry: e && entryKind(e) });
    if (!e) {
      this.warn(`${view.label(name)},${fwd}: not found`);
      return deny(matched, inst);
    }
    if (e.type === 'D') return deny(matched, inst);
    if (e.type === 'X') return shell(matched, e.text, state);
    const lines = splitLines(e.text);
    // With checks off, evaluate() never waits for DNS: it has run when it returns.
    void evaluate(lines, view.label(fwd), null, state, resolve, this.warn, trace);
    return allow(matched, state, `${inst},${fromBytes(lines.join('\0'))}`);
  }
}

function entryKind(e: Entry): 'deny' | 'exec' | 'instructions' {
  return e.type === 'D' ? 'deny' : e.type === 'X' ? 'exec' : 'instructions';
}

/** An entry of the store could not be read for the client at ip: the error, marked with ip for the log. */
export function checkInstFailure(e: unknown, ip: string): NodeJS.ErrnoException & { checkInst: string } {
  const err = (e instanceof Error ? e : new Error(String(e))) as NodeJS.ErrnoException & { checkInst: string };
  err.checkInst = ip;
  return err;
}

function deny(matched: string, inst: string): InstructDecision {
  return { action: 'deny', set: [], unset: [], matched, inst };
}

function allow(matched: string, state: State, inst: string): InstructDecision {
  const d: InstructDecision = { action: 'allow', ...env(state.env), matched, inst };
  if (state.perHost) d.perHost = state.perHost;
  return d;
}

// The command is a C string for ipsvd: it ends at the first NUL.
function shell(matched: string, text: Buffer, state: State): InstructDecision {
  const nul = text.indexOf(0);
  const cmd = (nul < 0 ? text : text.subarray(0, nul)).toString('utf8');
  const d: InstructDecision = { action: 'allow', ...env(state.env), shell: cmd, matched, inst: cmd };
  if (state.perHost) d.perHost = state.perHost;
  return d;
}

// The lines' names and values are byte strings already (splitLines).
function env(vars: State['env']): { set: Array<[string, string]>; unset: string[] } {
  const set: Array<[string, string]> = [];
  const unset: string[] = [];
  for (const [k, v] of vars) {
    if (v === null) unset.push(k);
    else set.push([k, v]);
  }
  return { set, unset };
}
