// inetd.conf, read as openbsd-inetd reads it, into one entry per socket to
// open: a "tcp" or "udp" line (no 4 or 6) becomes two entries, IPv4 and
// IPv6 ("tcp" and "tcp6"), and a host list one entry per address. What a
// line gets wrong is reported in openbsd-inetd's words with the file and
// line in front, and that line (or that address) is skipped; the others are
// served.
import { isIPv4, isIPv6 } from 'node:net';
import { parsePort } from '../listen/services';
import { INTERNAL, type Internal } from './internal';

/** openbsd-inetd's default for nowait.N and -R: invocations per minute. */
export const TOOMANY = 256;
/** It keeps at most this many program arguments. */
const MAXARGV = 20;

export type Proto = 'tcp' | 'tcp4' | 'tcp6' | 'tcp46' | 'udp' | 'udp4' | 'udp6' | 'udp46';

export interface Entry {
  file: string;
  line: number;
  /** The service field as written (name or number). */
  service: string;
  /** The host specifier as written ("*" for every address). */
  hostaddr: string;
  /** The address to bind: "0.0.0.0", "::" or a literal. */
  ip: string;
  v6: boolean;
  port: number;
  socktype: 'stream' | 'dgram';
  /** As openbsd-inetd names it in its messages: "tcp", "tcp6", "udp6"... */
  proto: Proto;
  wait: boolean;
  /** Invocations per minute (nowait.N, wait.N, or -R). */
  max: number;
  user: string;
  group?: string;
  /** The program, or "internal". */
  server: string;
  argv: string[];
  internal?: Internal;
}

export interface ConfMessage {
  file: string;
  line: number;
  text: string;
  /** openbsd-inetd's syslog priority for it. */
  level: 'err' | 'warning';
}

export interface ParseOptions {
  /** -R: the default max. */
  toomany: number;
  servicesFile?: string;
  /** Whether the system can open IPv6 sockets (probed once by the caller). */
  ipv6: boolean;
  /** Resolves a host name that is no literal address; undefined when it has none. */
  resolve?: (host: string, v6: boolean) => string | undefined;
}

/** The identity of an entry across rereads: openbsd-inetd's matchconf. */
export function keyOf(e: Entry): string {
  return `${e.service}\0${e.hostaddr}\0${e.proto}\0${e.ip}`;
}

/** openbsd-inetd reads the file with fgets(3) into a buffer of this many bytes. */
const LINE_BUFFER = 1024;

/**
 * The lines as openbsd-inetd's fgets gives them: a line of more than 1023
 * bytes comes in pieces, each taken as a line of its own, and a line ends at
 * its first NUL byte (the rest of its piece is never seen).
 */
function fgetsLines(text: string): Array<{ text: string; line: number }> {
  const out: Array<{ text: string; line: number }> = [];
  let nl = -1;
  for (let at = 0, line = 1; at < text.length;) {
    // (searched again only past the last newline found: a long line is not scanned once per piece)
    if (nl < at) {
      nl = text.indexOf('\n', at);
      if (nl < 0) nl = text.length;
    }
    const end = Math.min(nl + 1, at + LINE_BUFFER - 1);
    const piece = text.slice(at, end);
    at = end;
    const nul = piece.indexOf('\0');
    out.push({ text: nul >= 0 ? piece.slice(0, nul) : piece.endsWith('\n') ? piece.slice(0, -1) : piece, line });
    if (piece.endsWith('\n')) line++;
  }
  return out;
}

/** Lines as openbsd-inetd's nextline() and skip() see them: fields, joined across lines starting with a blank. */
function* records(text: string): Generator<{ line: number; fields: string[] }> {
  const lines = fgetsLines(text);
  let i = 0;
  while (i < lines.length) {
    const { text: l, line } = lines[i++];
    if (l.startsWith('#')) continue;
    const fields = l.split(/[ \t]+/).filter(Boolean);
    // A continuation: the next line starts with a blank (only once this one's fields are used up,
    // which for a line of its own is always).
    while (i < lines.length && /^[ \t]/.test(lines[i].text)) {
      fields.push(...lines[i].text.split(/[ \t]+/).filter(Boolean));
      i++;
    }
    yield { line, fields };
  }
}

/** Pure over the file's text: the entries and the messages, in file order. */
export function parseConf(text: string, file: string, o: ParseOptions): { entries: Entry[]; messages: ConfMessage[] } {
  const entries: Entry[] = [];
  const messages: ConfMessage[] = [];
  let defhost = '*';
  for (const { line, fields } of records(text)) {
    const msg = (t: string, level: 'err' | 'warning' = 'err') => messages.push({ file, line, text: t, level });
    if (fields.length === 0) continue;
    let first = fields[0];
    let hostaddr = defhost;
    const colon = first.lastIndexOf(':');
    let rest = fields.slice(1);
    if (colon >= 0) {
      let h = first.slice(0, colon);
      if (h.startsWith('[') && h.endsWith(']') && h.length >= 2) h = h.slice(1, -1);
      else if (h === '') h = '*';
      hostaddr = h;
      first = first.slice(colon + 1);
      if (first === '') {
        if (rest.length === 0) { defhost = hostaddr; continue; }
        first = rest[0];
        rest = rest.slice(1);
      }
    }
    const service = first;
    if (rest.length < 5) { msg('syntax error in inetd config file'); continue; }
    const [socktypeField, protoFull, waitField, userField, server, ...args] = rest;
    const [protoName, ...bufs] = protoFull.split(',');
    if (bufs.length > 2) { msg(`${service}: too many buffer sizes`); continue; }
    let badBuf = false;
    for (const b of bufs) {
      const m = /^(sndbuf|rcvbuf)=(\d+)([km]?)$/.exec(b);
      if (!m) { msg(`${service}: malformed buffer size option \`${b}'`); badBuf = true; break; }
      if (Number(m[2]) < 1) { msg(`${service}: invalid buffer size \`${b.slice(7)}'`); badBuf = true; break; }
    }
    if (badBuf) continue;
    if (bufs.length > 0) msg(`${service}/${protoName}: ${bufs.join(',')}: socket buffer sizes are not applied`, 'warning');
    if (protoName === 'unix') { msg(`${service}/unix: UNIX-domain services are not served`); continue; }
    if (protoName.startsWith('rpc/')) { msg(`${service}/${protoName}: RPC services are not served`); continue; }
    let max = o.toomany;
    const dot = waitField.indexOf('.');
    const waitWord = dot < 0 ? waitField : waitField.slice(0, dot);
    if (dot >= 0) {
      const s = waitField.slice(dot + 1);
      const n = /^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(s) ? Number(s.startsWith('0') && !/^0x/i.test(s) && s.length > 1 ? parseInt(s, 8) : s) : NaN;
      if (!(n >= 1)) msg(`${service}: illegal max field "${s}", setting to ${o.toomany}`);
      else max = n;
    }
    let user = userField, group: string | undefined;
    const sep = userField.indexOf('.') >= 0 ? userField.indexOf('.') : userField.indexOf(':');
    if (sep >= 0) { user = userField.slice(0, sep); group = userField.slice(sep + 1); }
    const socktype = socktypeField === 'stream' || socktypeField === 'dgram' ? socktypeField : undefined;
    let internal: Internal | undefined;
    let wait = waitWord === 'wait';
    if (server === 'internal') {
      internal = socktype && INTERNAL.find((b) => b.name === service && b.socktype === socktype);
      if (!internal) { msg(`internal service ${service} unknown`); continue; }
      wait = false;
    }
    let argv = args.slice(0, MAXARGV);
    if (argv.length === 0 && !internal) argv = [server.slice(server.lastIndexOf('/') + 1)];
    // "tcp" and "udp": IPv4 and IPv6, as two services (the second named "tcp6").
    const families: Array<{ proto: string; v6: boolean }> = [];
    if (protoName.endsWith('4')) families.push({ proto: protoName, v6: false });
    else if (protoName.endsWith('6')) families.push({ proto: protoName, v6: true });
    else families.push({ proto: protoName, v6: false }, { proto: protoName + '6', v6: true });
    for (const fam of families) {
      if (fam.v6 && !o.ipv6) {
        msg(`${service}/${fam.proto}: ${hostaddr}: the address family is not supported by the kernel`, 'warning');
        continue;
      }
      if (!socktype) { msg(`${service}/${fam.proto}: socket: Invalid argument`); continue; }
      const base = fam.proto.replace(/\d+$/, '');
      if (!(base === 'tcp' && socktype === 'stream') && !(base === 'udp' && socktype === 'dgram')) {
        msg(`${service}/${fam.proto}: socket: Protocol not supported`);
        continue;
      }
      const num = /^\d+$/.test(service) ? Number(service) : NaN;
      const port = num >= 1 && num <= 65535 ? num : parsePort(service, o.servicesFile, base);
      if (port === undefined || port === 0) { msg(`${service}/${fam.proto}: unknown service`); continue; }
      for (const host of hostaddr.split(',')) {
        if (host === '') continue;
        let ip: string | undefined;
        if (host === '*') ip = fam.v6 ? '::' : '0.0.0.0';
        else if (fam.v6 ? isIPv6(host) : isIPv4(host)) ip = host;
        else if ((fam.v6 ? isIPv4(host) : isIPv6(host))) ip = undefined;
        else ip = o.resolve?.(host, fam.v6);
        if (ip === undefined) {
          msg(`${service}/${fam.proto}: ${host}: ${isIPv4(host) || isIPv6(host) ? 'Address family for hostname not supported' : 'Name or service not known'}`);
          continue;
        }
        entries.push({
          file, line, service, hostaddr: host, ip, v6: fam.v6, port, socktype,
          proto: fam.proto as Proto, wait, max, user, group, server, argv, internal,
        });
      }
    }
  }
  return { entries, messages };
}
