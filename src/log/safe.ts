// Names in log lines come from DNS, ident and the command line: make them
// printable and one token, byte by byte, as the originals do (at most 100 bytes).

function clean(s: string, bad: (c: number) => boolean, more: string): string {
  // Most fields (addresses, names, ports) are short printable ASCII: as is,
  // without a Buffer per log line.
  if (s.length <= 100) {
    let plain = true;
    for (let i = 0; i < s.length && plain; i++) {
      const c = s.charCodeAt(i);
      plain = c >= 33 && c <= 126 && !bad(c);
    }
    if (plain) return s;
  }
  const b = Buffer.from(s, 'utf8');
  const n = Math.min(b.length, 100);
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = b[i];
    out += c < 33 || c > 126 || bad(c) ? '?' : String.fromCharCode(c);
  }
  return b.length > 100 ? out + more : out;
}

const COLON = 0x3a, PERCENT = 0x25;

/** tcpsvd (ipsvd outfix): ':' separates fields, so it is replaced. */
export function svdSafe(s: string | undefined): string {
  return s ? clean(s, (c) => c === COLON, '...(truncate)') : '';
}

/** tcpserver (safecats): ':' and '%' (syslog formats) are replaced. */
export function serverSafe(s: string | undefined): string {
  return s ? clean(s, (c) => c === COLON || c === PERCENT, '...') : '';
}
