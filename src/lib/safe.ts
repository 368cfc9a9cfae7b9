// Text from DNS, ident, the command line and instruction files, made fit
// for a log line byte by byte as the originals do: at most `max` bytes, the
// bytes a field must not hold as '?', and a marker once `max` bytes have
// been printed (also when the text is exactly `max` bytes long: the
// originals stop after `max` bytes without looking at the next one). A NUL
// ends the text, as it ends the originals' C strings.

type Map = (c: number) => string | null; // null: the byte as it is

function clean(s: string, max: number, map: Map, marker: string): string {
  // Most fields (addresses, names, ports) are short printable ASCII: as is,
  // without a Buffer per log line.
  if (s.length < max) {
    let plain = true;
    for (let i = 0; i < s.length && plain; i++) {
      const c = s.charCodeAt(i);
      plain = c >= 33 && c <= 126 && map(c) === null;
    }
    if (plain) return s;
  }
  const b = Buffer.from(s, 'utf8');
  let out = '';
  for (let i = 0; i < max; i++) {
    if (i === b.length || b[i] === 0) return out;
    const c = b[i];
    out += map(c) ?? String.fromCharCode(c);
  }
  return out + marker;
}

const COLON = 0x3a, PERCENT = 0x25;
const printable = (c: number) => c >= 33 && c <= 126;

const fixMap: Map = (c) => (!printable(c) || c === COLON ? '?' : null);
const catsMap: Map = (c) => (!printable(c) || c === COLON || c === PERCENT ? '?' : null);

/** ipsvd's outfix (tcpsvd's log fields): ':' separates fields, so it is replaced. */
export function outfix(s: string | undefined): string {
  return s ? clean(s, 100, fixMap, '...(truncate)') : '';
}

/** ucspi-tcp's safecats (tcpserver's log fields): ':' and '%' (syslog formats) are replaced. */
export function safecats(s: string | undefined): string {
  return s ? clean(s, 100, catsMap, '...') : '';
}

/**
 * ipsvd's outinst (tcpsvd -vv's instructions): trailing NULs dropped, at
 * most 140 bytes, NUL between instructions as ',', controls and non-ASCII as '?'.
 */
export function outinst(s: string): string {
  const b = Buffer.from(s.replace(/\0+$/, ''), 'utf8');
  let out = '';
  for (let i = 0; i < b.length && i < 140; i++) {
    const c = b[i];
    out += c === 0 ? ',' : c < 32 || c > 126 ? '?' : String.fromCharCode(c);
  }
  return b.length >= 140 ? `${out}...(truncate)` : out;
}

const ipv6Map: Map = (c) =>
  (c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x2e ? null : '?';

/**
 * A client's or server's address in a log line. IPv4 goes through the
 * tool's sanitiser (outfix or safecats) as before. An IPv6 address keeps its
 * colons, in the compact text the server was given (RFC 5952, as
 * ucspi-tcp6 prints it); any byte but hex digits, '.' and ':' (a zone, say)
 * becomes '?', at most 100 bytes. The other fields of a line never hold a
 * colon, so a reader finds the address between the first colon of its field
 * and the colon before the port (see the LOG FORMAT sections of
 * tcpserver(1) and tcpsvd(8)).
 */
export function ipSafe(ip: string, v4: (s: string) => string): string {
  return ip.includes(':') ? clean(ip, 100, ipv6Map, '') : v4(ip);
}
