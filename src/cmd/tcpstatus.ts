// tcpstatus [--json] file...: what a tcpsvd or tcpserver started with
// --status=file is doing, one line per file in the manner of svstat, or the
// file's JSON with "running" added (--json). Exit 0 when every file was
// read, 111 when one could not be, 100 for a usage error.
import type { StatusDoc } from '../admission/status';
import { errstr } from '../lib/errstr';
import { UsageError, getopt, orUsage } from '../lib/getopt';
import { writeLine } from '../lib/strerr';
import { readRegular } from '../lib/regular';

/** A status file is a few kB; more is no status file. */
const STATUS_MAX = 1 << 20;
const USAGE = { prog: 'tcpstatus', text: 'tcpstatus: usage: tcpstatus [ --json ] file [ file ... ]', code: 100 };

/** Whether pid is a running process (EPERM: it is, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const NUMBERS = ['pid', 'started', 'written', 'max', 'active', 'accepted', 'denied', 'refused_limit',
  'refused_rate', 'dropped', 'deferred'] as const;

/** The document, or a reason it is not one of ours. */
export function readStatus(text: string): StatusDoc | string {
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof d !== 'object' || d === null) return 'not a JSON object';
  const o = d as Record<string, unknown>;
  if (o.version !== 1) return `unknown version ${JSON.stringify(o.version)}`;
  for (const k of NUMBERS) if (typeof o[k] !== 'number') return `no number ${k}`;
  if (typeof o.exited !== 'object' || o.exited === null) return 'no exited';
  return o as unknown as StatusDoc;
}

const secs = (ms: number) => Math.max(0, Math.floor(ms / 1000));

/** One line for a status, svstat's way: the state first, then the counters. */
export function statusLine(file: string, d: StatusDoc, running: boolean, now = Date.now()): string {
  let s = `${file}: `;
  s += running ? `up (pid ${d.pid}) ${secs(now - d.started)} seconds` : `down (pid ${d.pid} gone), written ${secs(now - d.written)} seconds ago`;
  s += `, ${d.prog} on ${d.listening}, ${d.active}/${d.max} connections`;
  s += `, accepted ${d.accepted}, denied ${d.denied}, refused ${d.refused_limit} by limit ${d.refused_rate} by rate`;
  s += `, dropped ${d.dropped}, deferred ${d.deferred}`;
  const ex = Object.entries(d.exited);
  s += `, exited ${ex.length ? ex.map(([k, v]) => `${k.replace(' ', '')}:${v}`).join(' ') : 'none'}`;
  if (d.per_host) {
    const top = d.per_host.top[0];
    s += `, per ${d.per_host.unit} ${d.per_host.keys}${top ? ` (most ${top[0]} ${top[1]})` : ''}`;
  }
  if (d.per_address) s += `, addresses ${d.per_address.keys}`;
  if (d.rate) s += `, rate ${d.rate.count}/${d.rate.seconds}s tracking ${d.rate.tracked}/${d.rate.slots}`;
  return s;
}

export function main(argv: string[]): void {
  let json = false;
  const files = orUsage(USAGE, () => {
    const rest = getopt(argv, '', (name) => { if (name === 'json') json = true; }, { json: false });
    if (rest.length === 0) throw new UsageError();
    return rest;
  });
  let failed = false;
  for (const file of files) {
    let text: string;
    try {
      // The file's directory may belong to prog's user: a FIFO there must not hang us, nor a huge file fill memory.
      text = readRegular(file, STATUS_MAX).toString('utf8');
    } catch (e) {
      writeLine(`tcpstatus: warning: unable to read ${file}: ${errstr(e)}`);
      failed = true;
      continue;
    }
    const d = readStatus(text);
    if (typeof d === 'string') {
      writeLine(`tcpstatus: warning: ${file}: not a status file: ${d}`);
      failed = true;
      continue;
    }
    const running = alive(d.pid);
    writeLine(json ? JSON.stringify({ file, running, ...d }) : statusLine(file, d, running), 1);
  }
  process.exit(failed ? 111 : 0);
}
