// inetconv: inetd.conf (or xinetd.conf) and hosts.allow/hosts.deny to
// supervised service directories running tcpsvd and udpsvd.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { getopt, orUsage, UsageError } from '../lib/getopt';
import { die, warn as strerrWarn, writeLine } from '../lib/strerr';
import { HostsError, parseHostsFile, type Rule, type Where } from '../inetconv/hosts';
import { parseInetd } from '../inetconv/inetd';
import { apply, NotOurs, orphans, pending, plan } from '../inetconv/plan';
import type { InternalLine, Note, Service } from '../inetconv/service';
import { parseXinetd } from '../inetconv/xinetd';

const PROG = 'inetconv';
const USAGE = {
  prog: PROG,
  text: `usage: ${PROG} [-nw] [-d outdir] [-i inetd.conf | -x xinetd.conf] [-a hosts.allow] [-D hosts.deny] [-B bindir]`,
  code: 100,
};

function readOrEmpty(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    die(PROG, `unable to read ${file}`, e);
  }
}

export function main(argv: string[]): void {
  let outdir = '/etc/sv', inetd: string | undefined, xinetd: string | undefined;
  let allow = '/etc/hosts.allow', deny = '/etc/hosts.deny';
  let dry = false, wrapAll = false;
  // The bin directory this command runs from holds our tcpsvd, udpsvd and multilog.
  let bindir = path.resolve(__dirname, '..', '..', 'bin');
  orUsage(USAGE, () => {
    const rest = getopt(argv.map((a) => (a === '--dry-run' ? '-n' : a)), 'nwd:i:x:a:D:B:', (c, v) => {
      if (c === 'n') dry = true;
      else if (c === 'w') wrapAll = true;
      else if (c === 'd') outdir = v!;
      else if (c === 'i') inetd = v!;
      else if (c === 'x') xinetd = v!;
      else if (c === 'a') allow = v!;
      else if (c === 'D') deny = v!;
      else if (c === 'B') bindir = path.resolve(v!);
    });
    if (rest.length > 0) throw new UsageError(`${PROG}: unexpected argument: ${rest[0]}`);
    if (inetd !== undefined && xinetd !== undefined) throw new UsageError(`${PROG}: -i and -x exclude each other`);
  });

  const notes: Note[] = [];
  const internals: InternalLine[] = [];
  let services: Service[];
  if (xinetd !== undefined) {
    try { services = parseXinetd(xinetd, notes, internals); } catch (e) { die(PROG, `unable to read ${xinetd}`, e); }
  } else {
    const file = inetd ?? '/etc/inetd.conf';
    const text = readOrEmpty(file);
    if (text === undefined) die(PROG, `unable to read ${file}`, Object.assign(new Error(), { code: 'ENOENT' }));
    services = parseInetd(text, file, wrapAll, notes, internals);
  }
  const rules: Rule[] = [];
  const bad = (w: Where, what: string, reason: string) => notes.push({ where: w, what, reason });
  for (const [file, table] of [[allow, 'allow'], [deny, 'deny']] as const) {
    const text = readOrEmpty(file);
    if (text === undefined) continue;
    try {
      rules.push(...parseHostsFile(text, file, table, bad));
    } catch (e) {
      if (!(e instanceof HostsError)) throw e;
      // Without every rule no decision can be trusted: nothing is written.
      die(PROG, `${e.where.file}:${e.where.line}: not "daemons : clients [: options]": ${e.text}`, undefined, 100);
    }
  }

  const planned = plan(services, rules, bindir, notes, internals);
  let failed = false;
  for (const p of planned) {
    const dir = path.join(outdir, p.name);
    try {
      if (dry) {
        const { existed, changes } = pending(outdir, p);
        if (changes.length === 0) { writeLine(`unchanged ${dir}`, 1); continue; }
        writeLine(`would ${existed ? 'update' : 'create'} ${dir}: ${changes.join(', ')}`, 1);
        for (const c of changes) {
          const f = p.files.get(c) ?? p.peers.get(c.replace(/^peers\//, ''));
          if (f) writeLine(`  ${c} (${f.mode.toString(8).padStart(4, '0')})${f.content ? `:\n${indent(f.content)}` : ''}`, 1);
        }
        continue;
      }
      const r = apply(outdir, p, (m) => strerrWarn(PROG, m));
      // A new run script counts once the service restarts (svc -t); the rules at the next connection.
      writeLine(r.outcome === 'updated' ? `updated ${dir}: ${r.changes.join(', ')}` : `${r.outcome} ${dir}`, 1);
    } catch (e) {
      failed = true;
      if (e instanceof NotOurs) strerrWarn(PROG, e.message);
      else strerrWarn(PROG, `unable to write ${dir}: ${errstr(e)}`);
    }
  }
  for (const o of orphans(outdir, planned)) writeLine(`removed-from-input ${path.join(outdir, o)} (left in place)`, 1);
  for (const n of notes) writeLine(`${n.where.file}:${n.where.line}: not translated: ${n.what}: ${n.reason}`, 1);
  process.exit(failed ? 111 : notes.length > 0 ? 2 : 0);
}

function indent(s: string): string {
  return s.replace(/\n$/, '').split('\n').map((l) => `    ${l}`).join('\n');
}
