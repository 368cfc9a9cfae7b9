// sslserver's configuration from its environment, as ucspi-ssl reads it
// (CERTFILE, CERTCHAINFILE, KEYFILE, CAFILE, CADIR, CCAFILE, CCAVERIFY,
// VERIFYDEPTH, DHFILE, CIPHERS), plus s6-tlsserver's CERTFILE:name and
// KEYFILE:name for SNI; and the files kept watched: before each handshake
// the files are stat'ed (lib/stamp), and a changed one is read again and the
// backend configured anew. A pair that does not load (a key that does not
// match its certificate, a file half written) keeps the pairs in use and is
// logged once per change of the files.
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Stamp } from '../lib/stamp';
import { readRegular } from '../lib/regular';
import type { CertPair, TlsBackend, TlsServerConfig } from './backend';

/** The most a certificate, key or CA file may hold. */
const MAX_PEM = 1 << 20;

export interface PairFiles {
  name: string;
  cert: string;
  key: string;
}

export interface TlsFiles {
  pairs: PairFiles[];
  /** Files whose certificates verify clients: CAFILE, CCAFILE, then CADIR's files. */
  ca: string[];
  cadir?: string;
  dh?: string;
}

/** Bad configuration: the message names the variable; sslserver exits 111 with it. */
export class TlsConfigError extends Error {}

/**
 * The files named by env. CERTCHAINFILE wins over CERTFILE; without KEYFILE
 * the key is read from the certificate's file. CERTFILE:name (KEYFILE:name,
 * else the key in that file) adds a pair for the SNI name or *.domain.
 */
export function tlsFiles(env: NodeJS.ProcessEnv, sni: readonly PairFiles[] = []): TlsFiles {
  const pairs: PairFiles[] = [];
  const cert = env.CERTCHAINFILE || env.CERTFILE;
  if (cert) pairs.push({ name: '', cert, key: env.KEYFILE || cert });
  // --sni (the variables' names below do not survive /bin/sh: dash drops them).
  pairs.push(...sni);
  for (const k of Object.keys(env).sort()) {
    if (!k.startsWith('CERTFILE:')) continue;
    const name = k.slice(9);
    const v = env[k];
    if (!v) continue;
    if (!sniName(name)) throw new TlsConfigError(`bad SNI name in ${k}`);
    pairs.push({ name, cert: v, key: env['KEYFILE:' + name] || v });
  }
  if (pairs.length === 0) throw new TlsConfigError('no certificate: set CERTFILE (or CERTCHAINFILE)');
  const ca: string[] = [];
  if (env.CAFILE) ca.push(env.CAFILE);
  if (env.CCAFILE && env.CCAFILE !== env.CAFILE) ca.push(env.CCAFILE);
  return { pairs, ca, cadir: env.CADIR || undefined, dh: env.DHFILE || undefined };
}

/** Whether name can be an SNI pattern: a host name, or '*.' and one. */
export function sniName(name: string): boolean {
  return name.length <= 253 && /^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(name);
}

/** VERIFYDEPTH, or undefined; a value that is no number is an error. */
export function verifyDepth(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.VERIFYDEPTH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,4}$/.test(v)) throw new TlsConfigError(`bad VERIFYDEPTH: ${v}`);
  return Number(v);
}

/** One file read, with the stat taken before it (to know later whether it changed). */
interface Read {
  file: string;
  stamp: Stamp;
  data: Buffer;
}

function readOne(file: string, what: string): Read {
  const stamp = new Stamp();
  try {
    const st = statSync(file);
    const data = readRegular(file, MAX_PEM);
    stamp.take(st);
    return { file, stamp, data };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TlsConfigError(`unable to read ${what} ${file}: ${err.code === 'EFBIG' ? 'file too big' : err.code ?? err.message}`);
  }
}

/** CADIR's certificates: its regular files, in name order (hashed links, *.pem, *.crt alike). */
function caDirFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new TlsConfigError(`unable to read CADIR ${dir}: ${(e as NodeJS.ErrnoException).code ?? ''}`);
  }
  return names.filter((n) => !n.startsWith('.')).map((n) => path.join(dir, n));
}

export type TlsBase = Omit<TlsServerConfig, 'pairs' | 'ca'>;

/**
 * The configuration kept in step with the files: load() once at start (its
 * error is fatal), then refresh() before each handshake.
 */
export class TlsSource {
  private reads: Read[] = [];
  /** A failed reload, not to be logged again until the files change again. */
  private failedKey = '';

  constructor(private readonly files: TlsFiles, private readonly base: TlsBase,
              private readonly backend: TlsBackend, private readonly warn: (what: string) => void) {}

  /** Reads every file and configures the backend; throws TlsConfigError. */
  load(): void {
    const reads: Read[] = [];
    const pairs: CertPair[] = [];
    for (const p of this.files.pairs) {
      const c = readOne(p.cert, p.name ? `CERTFILE:${p.name}` : 'certificate');
      const k = p.key === p.cert ? c : readOne(p.key, p.name ? `KEYFILE:${p.name}` : 'KEYFILE');
      reads.push(c);
      if (k !== c) reads.push(k);
      pairs.push({ name: p.name, cert: c.data, key: k.data });
    }
    const caFiles = [...this.files.ca];
    if (this.files.cadir) caFiles.push(...caDirFiles(this.files.cadir));
    const cas: Buffer[] = [];
    for (const f of caFiles) {
      const r = readOne(f, 'CA file');
      reads.push(r);
      cas.push(r.data);
    }
    let dh: Buffer | undefined;
    if (this.files.dh) {
      const r = readOne(this.files.dh, 'DHFILE');
      reads.push(r);
      dh = r.data;
    }
    const cfg: TlsServerConfig = { ...this.base, pairs, ca: cas.length ? Buffer.concat(cas) : undefined };
    if (dh) cfg.dhparam = dh;
    try {
      this.backend.configure(cfg);
    } catch (e) {
      throw new TlsConfigError(`unable to use the certificates: ${(e as Error).message}`);
    } finally {
      // The key's bytes are the backend's now: no copy stays here.
      for (const p of pairs) p.key.fill(0);
    }
    this.reads = reads;
  }

  /** Whether a file read has changed on disk (or gone). */
  private changed(): boolean {
    for (const r of this.reads) {
      let st;
      try {
        st = statSync(r.file);
      } catch {
        return true;
      }
      if (!r.stamp.same(st)) return true;
    }
    return false;
  }

  /** Before a handshake: reload when a file changed; on failure the pairs in use stay (logged once per change). */
  refresh(): void {
    if (!this.changed()) return;
    const key = this.stampKey();
    if (key === this.failedKey) return;
    try {
      this.load();
      this.failedKey = '';
    } catch (e) {
      this.failedKey = key;
      this.warn(`keeping the certificates in use: ${(e as Error).message}`);
    }
  }

  private stampKey(): string {
    const out: string[] = [];
    for (const r of this.reads) {
      try {
        const st = statSync(r.file);
        out.push(`${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
      } catch {
        out.push('-');
      }
    }
    return out.join(',');
  }
}
