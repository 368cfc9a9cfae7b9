// A service's peers/ directory (ipsvd-instruct(5), as tcpsvd -i reads it)
// and its compiled peers.cdb (tcpsvd -x). A granted host's file is readable
// instructions: a "+" line (which tcpsvd and ipsvd-cdb ignore: it marks the
// grant), then "C<n>" when a limit is set, then "+VAR=value" lines. An
// excluded host's file has neither read nor execute permission: closed at
// once. Every file is written to a new file of an unpredictable name
// (lib/replace.ts), synced and renamed into place: tcpsvd reading either
// sees the old or the new contents, never a part, and a link planted in
// peers/ is never followed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CdbWriter } from '../cdb/writer';
import { compileCwd } from '../instruct/compile';
import { parseInstruction } from '../instruct/parse';
import { errstr } from '../lib/errstr';
import { createTemp, replaceFile } from '../lib/replace';

export class PeersError extends Error {}

/** A host as a file name in peers/: no path, no line break, nothing ipsvd would not look up. */
export function checkHost(h: string): string | null {
  if (h === '' || h === '.' || h === '..') return `bad host name: "${h}"`;
  if (/[/\0\n]/.test(h)) return `bad host name: ${JSON.stringify(h)} (no "/", NUL or newline)`;
  if (h.startsWith('.')) return `bad host name: ${h} (a leading dot is no host)`;
  return null;
}

export interface Setting { name: string; value: string }

/** "VAR=value": a variable for an instruction line; null when malformed. */
export function parseSetting(s: string): Setting | null {
  const eq = s.indexOf('=');
  if (eq <= 0 || s.includes('\n') || s.includes('\0')) return null;
  return { name: s.slice(0, eq), value: s.slice(eq + 1) };
}

/**
 * The new contents of a granted host's file, from its old lines (null when
 * new): a "+" line first, "C<limit>" replacing the first limit line, each
 * setting replacing the line of its variable or appended; every other line
 * kept as it was.
 */
export function grantText(old: string | null, limit: number | null, settings: Setting[]): string {
  const lines = old === null ? [] : old.replace(/\n$/, '').split('\n');
  if (old === '') lines.length = 0;
  if (lines[0] !== '+') lines.unshift('+');
  if (limit !== null) {
    const at = lines.findIndex((l) => parseInstruction(l).kind === 'limit');
    if (at >= 0) lines[at] = `C${limit}`;
    else lines.splice(1, 0, `C${limit}`);
  }
  for (const s of settings) {
    const at = lines.findIndex((l) => {
      const i = parseInstruction(l);
      return (i.kind === 'set' || i.kind === 'unset') && i.name === s.name;
    });
    const line = `+${s.name}=${s.value}`;
    if (at >= 0) lines[at] = line;
    else lines.push(line);
  }
  return lines.join('\n') + '\n';
}

function replace(dir: string, host: string, text: string, mode: number): void {
  const file = path.join(dir, host);
  try {
    replaceFile(file, text, mode);
  } catch (e) {
    throw new PeersError(`unable to write ${file}: ${errstr(e)}`);
  }
}

/** A granted host's old lines: null when there is no file or it is not readable instructions. */
function readOld(file: string): string | null {
  let fd: number;
  try {
    // Never through a link (it could name any file root can read) nor into a FIFO.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new PeersError(`${file} is a symbolic link: not changed`);
    if (code === 'EACCES') return null;
    throw new PeersError(`unable to open ${file}: ${errstr(e)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new PeersError(`${file} is no regular file: not changed`);
    if (st.mode & 0o100) throw new PeersError(`${file} is a command (owner execute bit): not changed`);
    if (!(st.mode & 0o400)) return null;
    return fs.readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof PeersError) throw e;
    throw new PeersError(`unable to read ${file}: ${errstr(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}

export function grant(dir: string, host: string, limit: number | null, settings: Setting[]): void {
  const old = readOld(path.join(dir, host));
  replace(dir, host, grantText(old, limit, settings), 0o644);
}

export function exclude(dir: string, host: string): void {
  replace(dir, host, '-\n', 0o000);
}

export function remove(dir: string, host: string): void {
  const file = path.join(dir, host);
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new PeersError(`unable to remove ${file}: ${errstr(e)}`);
  }
}

/**
 * peers.cdb from peers/, as ipsvd-cdb compiles it (the same library);
 * warnings (entries skipped, bad instruction lines) go to warn.
 */
export function rebuild(peersDir: string, cdb: string, warn: (m: string) => void): void {
  let w: CdbWriter;
  let tmp = cdb;
  try {
    const made = createTemp(cdb, 0o644);
    tmp = made.tmp;
    w = CdbWriter.onFd(made.fd, made.tmp);
  } catch (e) {
    throw new PeersError(`unable to create a temporary file for ${cdb}: ${errstr(e)}`);
  }
  const home = process.cwd();
  try {
    try { process.chdir(peersDir); } catch (e) { throw new PeersError(`unable to change dir to ${peersDir}: ${errstr(e)}`); }
    try {
      for (const c of compileCwd((m) => warn(`${peersDir}: ${m}`))) {
        if ('skipped' in c) {
          warn(`${path.join(peersDir, c.name.toString())}: ${c.skipped === 'unstattable' ? 'unable to stat' : 'ignored'}`);
          continue;
        }
        w.add(c.name, c.value);
      }
    } catch (e) {
      if (e instanceof PeersError) throw e;
      const entry = (e as { entry?: string }).entry;
      throw new PeersError(`unable to read ${entry === undefined ? peersDir : path.join(peersDir, entry)}: ${errstr(e)}`);
    }
    try { w.finish(); } catch (e) { throw new PeersError(`unable to write ${tmp}: ${errstr(e)}`); }
    try { fs.renameSync(tmp, cdb); } catch (e) { throw new PeersError(`unable to replace ${cdb}: ${errstr(e)}`); }
  } catch (e) {
    w.abort();
    throw e;
  } finally {
    process.chdir(home);
  }
}
