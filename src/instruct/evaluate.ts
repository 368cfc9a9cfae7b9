// Follow the instruction lines of one entry in order, as ipsvd does: +VAR and
// Cn act at once; an =hostname line that matches the client ends the entry
// (lines after it are not read) and may hand over to a forward entry; when an
// entry has =hostname lines and none matched, the client is denied.
import * as net from 'node:net';
import type { HostResolver, Trace } from '../decide/decision';
import { parseInstruction } from './parse';
import { fromBytes } from '../lib/bytes';
import { clientIpText } from '../lib/ip';

/** What the lines did to the connection so far (a forward entry adds to it). */
export interface State {
  /** Last word per variable: a value to set, or null to unset; names and values are byte strings (latin1). */
  env: Map<string, string | null>;
  perHost?: { limit: number; msg?: string };
}

export type Outcome =
  | { kind: 'instruct'; upto: number }                   // run prog (lines[0..upto] were read)
  | { kind: 'deny' }                                     // checks present, none matched
  | { kind: 'forward'; forward: string; upto: number };  // a check matched and names a forward entry

/**
 * lines are byte strings (splitLines): variables stay bytes; the message, host
 * names and forward names, and warnings are read as UTF-8 text.
 * ip null turns =hostname lines off, as for a forward entry (and for ipsvd-cdb,
 * which reads entries without a client). Synchronous unless a check needs DNS.
 * trace (tcpexplain): told each line read and what it did.
 */
export function evaluate(lines: string[], label: string, ip: string | null, state: State,
                         resolve: HostResolver, warn: (msg: string) => void, trace?: Trace): Outcome | Promise<Outcome> {
  let checked = false;
  const run = (from: number): Outcome | Promise<Outcome> => {
    for (let i = from; i < lines.length; i++) {
      const ins = parseInstruction(lines[i]);
      switch (ins.kind) {
        case 'skip':
          if (trace) told(trace, label, lines, i, lines[i] === '' ? 'empty line' : lines[i].charAt(0) === '#' ? 'comment' : 'no variable name: ignored');
          break;
        case 'set':
          state.env.delete(ins.name); // keep the order of the last word
          state.env.set(ins.name, ins.value);
          if (trace) told(trace, label, lines, i, `set ${fromBytes(ins.name)}=${fromBytes(ins.value)}`);
          break;
        case 'unset':
          state.env.delete(ins.name);
          state.env.set(ins.name, null);
          if (trace) told(trace, label, lines, i, `unset ${fromBytes(ins.name)}`);
          break;
        case 'limit': {
          // A limit without a message keeps the one given before (or tcpsvd -C's).
          const msg = ins.msg !== undefined ? fromBytes(ins.msg) : state.perHost?.msg;
          state.perHost = msg === undefined ? { limit: ins.limit } : { limit: ins.limit, msg };
          if (trace) told(trace, label, lines, i, `per-host limit ${ins.limit}${ins.msg === undefined ? '' : `, message "${msg}"`}`);
          break;
        }
        case 'bad':
          warn(`bad instruction: ${label}: ${fromBytes(lines[i])}`);
          if (trace) told(trace, label, lines, i, 'bad instruction: ignored');
          break;
        case 'check': {
          if (ip === null) {
            if (trace) told(trace, label, lines, i, 'check not made in a forward entry: ignored');
            break;
          }
          checked = true;
          const host = fromBytes(ins.host);
          const done = (how: string | undefined): Outcome => {
            if (trace) {
              told(trace, label, lines, i, `${how}: matches` + (ins.forward === undefined ? '' : `, forward to ${fromBytes(ins.forward)}`) +
                (i < lines.length - 1 ? '; the lines after it are not read' : ''));
            }
            return ins.forward === undefined ? { kind: 'instruct', upto: i }
              : { kind: 'forward', forward: fromBytes(ins.forward), upto: i };
          };
          // "0" matches any client; an address literal needs no DNS.
          if (host === '0') return done('any client');
          if (net.isIP(host)) {
            if (sameIp(host, ip)) return done(trace && `address ${host}`);
            if (trace) told(trace, label, lines, i, `address ${host}: no match`);
            break;
          }
          return Promise.resolve()
            .then(() => resolve(host))
            .then((addrs) => {
              if (addrs.length === 0) warn(`unable to look up ip address: ${host}`);
              return addrs;
            }, (e) => {
              warn(`unable to look up ip address: ${host}: ${e instanceof Error ? e.message : String(e)}`);
              return null;
            })
            .then((addrs) => {
              const how = !trace ? undefined : addrs === null ? `${host} not looked up`
                : `${host} has ${addrs.length ? addrs.join(' ') : 'no address'}`;
              if (addrs !== null && addrs.some((a) => sameIp(a, ip))) return done(how);
              if (trace) told(trace, label, lines, i, `${how}: no match`);
              return run(i + 1);
            });
        }
      }
    }
    return checked ? { kind: 'deny' } : { kind: 'instruct', upto: lines.length - 1 };
  };
  return run(0);
}

function told(trace: Trace, label: string, lines: string[], i: number, did: string): void {
  trace({ kind: 'line', label, n: i + 1, text: fromBytes(lines[i]), did });
}

// One text per address; an IPv4-mapped IPv6 address counts as IPv4.
const norm = clientIpText;

function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  const na = norm(a);
  return na !== undefined && na === norm(b);
}
