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
// remembered in a bounded map, since clients share most keys (short CIDR
// prefixes, host suffixes, "=", ""); so are whole decisions per client
// (address, name, ident), since most connections come from known clients.
import * as fs from 'node:fs';
import type { Decision, Peer, RuleSource } from '../decide/decision';
import { Cdb, CdbError } from '../cdb/reader';
import { CidrLengths, cidrLengths, lookupRule } from './lookup';
import { decodeRule } from './value';

const CACHE_MAX = 65536;

export class RulesCdbSource implements RuleSource {
  private cdb: Cdb | null = null;
  private id = '';
  private cache = new Map<string, Buffer | null>();
  private decisions = new Map<string, Decision>();
  private cidr: CidrLengths | undefined;

  constructor(readonly path: string) {}

  decide(peer: Peer): Decision {
    const cdb = this.current();
    const who = peer.host === undefined && peer.info === undefined ? peer.ip
      : `${peer.ip}\0${peer.host === undefined ? '-' : '+' + peer.host}\0${peer.info === undefined ? '-' : '+' + peer.info}`;
    let d = this.decisions.get(who);
    if (d === undefined) {
      d = this.lookup(cdb, peer);
      if (this.decisions.size >= CACHE_MAX) this.decisions.clear();
      this.decisions.set(who, d);
    }
    return d;
  }

  private lookup(cdb: Cdb, peer: Peer): Decision {
    const m = lookupRule((key) => {
      let v = this.cache.get(key);
      if (v === undefined) {
        v = cdb.get(Buffer.from(key, 'latin1')) ?? null;
        if (this.cache.size >= CACHE_MAX) this.cache.clear();
        this.cache.set(key, v);
      }
      return v ?? undefined;
    }, peer, this.cidr);
    if (!m) return { action: 'allow', set: [], unset: [] };
    return decodeRule(m.value, Buffer.from(m.name, 'latin1').toString());
  }

  private current(): Cdb {
    const st = fs.statSync(this.path);
    const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    if (this.cdb && id === this.id) return this.cdb;
    this.close();
    const cdb = Cdb.open(this.path);
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
    this.id = id;
    return cdb;
  }

  /** Let go of the open file and what was read from it. */
  close(): void {
    if (this.cdb) this.cdb.close();
    this.cdb = null;
    this.cache.clear();
    this.decisions.clear();
  }
}
