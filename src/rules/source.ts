// tcpserver -x: the rules CDB made by tcprules, as a RuleSource. Every
// decide() checks the file by stat(2): when it is another file than the one
// open (tcprules renames a new one into place; any write changes ctime), it
// is reopened and the cache below dropped, so a recompiled CDB applies from
// the next connection on. Unreadable or damaged: decide() throws and the
// server fails closed.
//
// A client walks up to ~40 keys, most absent; each costs a pread. So, per
// file: one sequential pass at open learns which CIDR prefix lengths exist
// (most files have none: 32 or 128 lookups saved), and answers are
// remembered in small maps, since clients share most keys (short CIDR
// prefixes, host suffixes, "=", ""); so are whole decisions per client
// (address, name, ident), since most connections come from known clients.
// The maps stay small (cleared when full), keep no client's own keys, and
// share one decoded decision per rule: a server that meets a million
// different clients must not grow.
import * as fs from 'node:fs';
import { ALLOW_DEFAULT, type Decision, type HostResolver, type Peer, type RuleSource, type Trace } from '../decide/decision';
import { Cdb, CdbError } from '../cdb/reader';
import { Stamp } from '../lib/stamp';
import { CidrLengths, cidrLengths, lookupRule } from './lookup';
import { decodeRule } from './value';

// Small on purpose: a busy server collects its young generation every ~150
// connections, and a cache entry that outlives two collections is promoted.
// With ever new clients (or ever new rules matched), a big cache's entries
// would all be promoted and then die in the old generation, growing the heap.
const KEYS_MAX = 256;    // remembered shared key answers (few: prefixes, domains)
const RULES_MAX = 64;    // decoded rules, shared by the clients they match
const CLIENT_SLOTS = 64; // remembered decisions, one slot per client hash

function remember<K, V>(m: Map<K, V>, max: number, k: K, v: V): V {
  if (m.size >= max) m.clear();
  m.set(k, v);
  return v;
}

export class RulesCdbSource implements RuleSource {
  private cdb: Cdb | null = null;
  // The open file's identity as stat(2) saw it: same numbers, same file.
  private readonly stamp = new Stamp();
  private cache = new Map<string, Buffer | null>();
  private rules = new Map<string, Decision>();
  // Decisions by client in fixed slots (a client's hash picks one; a newer
  // client takes it over): no table to grow, rehash or clear, whose churn a
  // Map showed as promoted garbage when every client was new.
  private readonly clientKeys: Array<string | undefined> = new Array(CLIENT_SLOTS).fill(undefined);
  private readonly clientDecisions: Array<Decision | undefined> = new Array(CLIENT_SLOTS).fill(undefined);
  private cidr: CidrLengths | undefined;

  constructor(readonly path: string) {}

  decide(peer: Peer, _resolve?: HostResolver, trace?: Trace): Decision {
    const cdb = this.current();
    // Traced: the lookup itself, every step of it, not a remembered answer.
    if (trace) return this.lookup(cdb, peer, trace);
    const who = peer.host === undefined && peer.info === undefined ? peer.ip
      : `${peer.ip}\0${peer.host === undefined ? '-' : '+' + peer.host}\0${peer.info === undefined ? '-' : '+' + peer.info}`;
    let h = 0;
    for (let i = 0; i < who.length; i++) h = (h * 31 + who.charCodeAt(i)) | 0;
    const slot = h & (CLIENT_SLOTS - 1);
    if (this.clientKeys[slot] === who) return this.clientDecisions[slot]!;
    const d = this.lookup(cdb, peer);
    this.clientKeys[slot] = who;
    this.clientDecisions[slot] = d;
    return d;
  }

  private lookup(cdb: Cdb, peer: Peer, trace?: Trace): Decision {
    const m = lookupRule((key, shared) => {
      // A client's own keys are remembered in its decision, not here.
      if (!shared) return cdb.find(this.keyBytes(key));
      let v = this.cache.get(key);
      if (v === undefined) {
        v = cdb.find(this.keyBytes(key)) ?? null;
        // A copy of its own: find() reuses its buffer.
        if (v !== null) {
          const own = new Uint8Array(v);
          v = Buffer.from(own.buffer, 0, own.length);
        }
        remember(this.cache, KEYS_MAX, key, v);
      }
      return v ?? undefined;
    }, peer, this.cidr, trace);
    if (!m) return ALLOW_DEFAULT;
    const known = this.rules.get(m.name);
    if (known) return known;
    const d = decodeRule(m.value, Buffer.from(m.name, 'latin1').toString());
    Object.freeze(d.set);
    Object.freeze(d.unset);
    return remember(this.rules, RULES_MAX, m.name, Object.freeze(d));
  }

  /**
   * The rule of the first of keys (byte strings) present, or undefined: a
   * lookup by exact key, for sslserver's client-certificate keys (src/tls/rules.ts).
   * Throws as decide() does when the file cannot be read.
   */
  decideKeys(keys: readonly string[]): Decision | undefined {
    const cdb = this.current();
    for (const key of keys) {
      const v = cdb.find(this.keyBytes(key));
      if (v) return decodeRule(Buffer.from(v), Buffer.from(key, 'latin1').toString());
    }
    return undefined;
  }

  // Keys are byte strings: written into one reused buffer rather than a new
  // (pooled) Buffer per probe, whose slabs churn the C heap.
  private scratch = Buffer.allocUnsafeSlow(256);

  private keyBytes(key: string): Buffer {
    if (key.length > this.scratch.length) this.scratch = Buffer.allocUnsafeSlow(key.length * 2);
    const n = this.scratch.write(key, 'latin1');
    return this.scratch.subarray(0, n);
  }

  private current(): Cdb {
    const st = fs.statSync(this.path);
    if (this.cdb && this.stamp.same(st)) return this.cdb;
    this.close();
    const cdb = Cdb.open(this.path);
    if (cdb.size === 0) {
      // The original's reader cannot map an empty file: "invalid argument", as tcprulescheck says too.
      cdb.close();
      throw Object.assign(new Error(`${this.path}: empty`), { code: 'EINVAL' });
    }
    try {
      this.cidr = cidrLengths(cdb);
    } catch (e) {
      if (!(e instanceof CdbError)) {
        cdb.close();
        throw e;
      }
      this.cidr = undefined; // damaged somewhere: try every length, as tcprulescheck does
    }
    this.cdb = cdb;
    this.stamp.take(st);
    return cdb;
  }

  /** Let go of the open file and what was read from it. */
  close(): void {
    if (this.cdb) this.cdb.close();
    this.cdb = null;
    this.cache.clear();
    this.rules.clear();
    this.clientKeys.fill(undefined);
    this.clientDecisions.fill(undefined);
  }
}
