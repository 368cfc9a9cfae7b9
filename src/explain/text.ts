// tcpexplain's report as a person reads it (--json prints the Report itself).
import type { Kind, Report } from './report';

/** Control characters escaped, so a value cannot break the layout. */
function shown(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t'
    : '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

const SOURCE_WORDS: Record<Kind, string> = {
  rules: 'tcprules text, compiled as tcprules compiles it, for tcpserver -x',
  'rules-cdb': 'tcprules cdb, as tcpserver -x reads it',
  'peers-dir': 'peers directory, as tcpsvd -i reads it',
  'peers-cdb': 'ipsvd-cdb output, as tcpsvd -x reads it',
};

export function text(r: Report): string {
  const out: string[] = [];
  const c = r.client;
  let who = `client ${c.ip}`;
  if (c.host !== null) who += `, host ${shown(c.host)} (${c.hostFrom === 'dns' ? 'from DNS' : 'as given'})`;
  if (c.info !== null) who += `, info ${shown(c.info)}`;
  out.push(who);
  out.push(`source: ${shown(r.source.path)} (${SOURCE_WORDS[r.source.kind]})`);
  out.push('lookup, in the server\'s order:');
  const width = Math.min(40, Math.max(0, ...r.lookup.map((s) => s.key.length)) + 2);
  for (let i = 0; i < r.lookup.length; i++) {
    const s = r.lookup[i];
    if (s.result === 'skipped') {
      // A run of CIDR lengths the file has no rule of: one line.
      let j = i;
      while (j + 1 < r.lookup.length && r.lookup[j + 1].result === 'skipped') j++;
      const span = j > i ? `${s.key} .. ${r.lookup[j].key}` : s.key;
      out.push(`  ${s.step.padEnd(11)} ${span}: not probed, no rule of ${j > i ? 'these lengths' : 'this length'}`);
      i = j;
      continue;
    }
    const what = s.result === 'absent' ? 'absent' : s.entry ? `found: ${s.entry}` : 'found';
    out.push(`  ${s.step.padEnd(11)} ${shown(s.key === '' ? '(empty key)' : s.key).padEnd(width)} ${what}`);
  }
  if (r.matched === null) {
    out.push(`decided by: nothing matched: the default, allow`);
  } else if (r.source.kind === 'rules' || r.source.kind === 'rules-cdb') {
    let by = `decided by: rule ${r.matched === '' ? '(empty key)' : shown(r.matched)}`;
    if (r.line) by += ` (${shown(r.source.path)} line ${r.line.n}: ${shown(r.line.text)})`;
    out.push(by);
    for (const i of r.instructions) out.push(`  ${shown(i.did)}`);
  } else {
    out.push(`decided by: entry ${shown(r.matched)}`);
    for (const i of r.instructions) {
      out.push(`  ${shown(i.entry)} line ${i.line}: ${shown(i.text)}`);
      out.push(`    ${shown(i.did)}`);
    }
    if (r.forward && !r.forward.found) out.push(`  forward entry ${shown(r.forward.name)} not found: deny`);
  }
  out.push(`action: ${r.action}`);
  if (r.action !== 'deny') {
    out.push(`environment: ${r.set.length === 0 ? 'nothing set' : r.set.map(([k, v]) => `${shown(k)}=${shown(v)}`).join(' ')}`);
    if (r.unset.length !== 0) out.push(`unset: ${r.unset.map(shown).join(' ')}`);
    if (r.perHost) {
      out.push(`per-host limit: ${r.perHost.limit} (${r.perHost.from === 'entry' ? 'the entry\'s' : 'the server\'s -C'}), ` +
        `over it: deny${r.perHost.message === null ? '' : `, sending "${shown(r.perHost.message)}"`}`);
    }
    out.push(`command: ${r.command === null ? 'the server\'s prog' : `/bin/sh -c ${shown(r.command)}`}`);
  }
  for (const n of r.notes) out.push(`note: ${shown(n)}`);
  for (const w of r.warnings) out.push(`warning: ${shown(w)}`);
  return out.join('\n') + '\n';
}

