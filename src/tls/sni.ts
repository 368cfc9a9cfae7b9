// Which certificate pair a handshake gets, by the client's SNI name
// (s6-tlsserver's convention: CERTFILE:name / KEYFILE:name): the pair named
// exactly, else the pair of '*.' and the name less its first label (one label
// only, as a certificate's own wildcard), else the default pair ('').
// Names compare without case and without a trailing dot.

import type { CertPair } from './backend';

function norm(n: string): string {
  n = n.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** Index into pairs of the pair for name ('' = no SNI), or -1 when none serves it (not even a default). */
export function pickPair(pairs: readonly CertPair[], name: string): number {
  let def = -1;
  for (let i = 0; i < pairs.length; i++) if (pairs[i].name === '') { def = i; break; }
  if (name === '') return def;
  const n = norm(name);
  for (let i = 0; i < pairs.length; i++) if (pairs[i].name !== '' && norm(pairs[i].name) === n) return i;
  const dot = n.indexOf('.');
  if (dot > 0) {
    const wild = '*' + n.slice(dot);
    for (let i = 0; i < pairs.length; i++) if (norm(pairs[i].name) === wild) return i;
  }
  return def;
}
