// tcpserver -x: the rules CDB made by tcprules, as a RuleSource. The file is
// opened for every connection, so a recompiled CDB (tcprules renames a new
// file into place) applies from the next connection on. Unreadable or
// damaged: decide() throws and the server fails closed.
import type { Decision, Peer, RuleSource } from '../decide/decision';
import { Cdb } from '../cdb/reader';
import { lookupRule } from './lookup';
import { decodeRule } from './value';

export class RulesCdbSource implements RuleSource {
  constructor(readonly path: string) {}

  decide(peer: Peer): Decision {
    const cdb = Cdb.open(this.path);
    try {
      const m = lookupRule(cdb, peer);
      if (!m) return { action: 'allow', set: [], unset: [] };
      return decodeRule(m.value, m.name);
    } finally {
      cdb.close();
    }
  }
}
