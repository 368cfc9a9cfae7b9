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

/**
 * A client's or server's address in a log line. IPv4 goes through the
 * tool's sanitiser as before. An IPv6 address keeps its colons, in the
 * compact text the server was given (RFC 5952, as ucspi-tcp6 prints it);
 * anything but hex digits, '.' and ':' (a zone, say) becomes '?'. The other
 * fields of a line never hold a colon, so a reader finds the address between
 * the first colon of its field and the colon before the port (see the LOG
 * FORMAT sections of tcpserver(1) and tcpsvd(8)).
 */
export function ipSafe(ip: string, v4: (s: string) => string): string {
  if (!ip.includes(':')) return v4(ip);
  let plain = ip.length <= 100;
  for (let i = 0; i < ip.length && plain; i++) plain = isIPv6Char(ip.charCodeAt(i));
  if (plain) return ip;
  let out = '';
  for (let i = 0; i < ip.length && i < 100; i++) out += isIPv6Char(ip.charCodeAt(i)) ? ip.charAt(i) : '?';
  return out;
}

function isIPv6Char(c: number): boolean {
  return (c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x2e;
}
