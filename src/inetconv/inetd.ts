// inetd.conf as openbsd-inetd reads it: blank-separated fields, '#' comments,
// a line starting with a blank continues the one before, "host:" prefixes
// (alone on a line they become the default for the lines after).
import type { Where } from './hosts';
import { unwrap, type Note, type Service } from './service';

const INTERNAL_NAMES = new Set(['echo', 'discard', 'daytime', 'chargen', 'time']);

/** Lines joined where the next one starts with a blank, comments and blank lines dropped. */
function inetdLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i];
    if (s.trim() === '' || s.trim().startsWith('#')) continue;
    if (/^[ \t]/.test(s) && out.length > 0) { out[out.length - 1].text += ' ' + s.trim(); continue; }
    out.push({ line: i + 1, text: s.trim() });
  }
  return out;
}

/** wrapAll: inetd -l (libwrap for every service): the rules apply to unwrapped lines too. */
export function parseInetd(text: string, file: string, wrapAll: boolean, notes: Note[]): Service[] {
  const out: Service[] = [];
  let defHost = '*';
  for (const { line, text: t } of inetdLines(text)) {
    const where: Where = { file, line };
    const f = t.split(/[ \t]+/);
    const note = (reason: string) => notes.push({ where, what: t, reason });
    if (f.length === 1 && f[0].endsWith(':')) {
      defHost = f[0].slice(0, -1);
      if (defHost.startsWith('[') && defHost.endsWith(']')) defHost = defHost.slice(1, -1);
      continue;
    }
    if (f.length < 6) { note('fewer than six fields: not an inetd.conf service line'); continue; }
    let [svc] = f;
    const [, socktype, protoField, waitField, userField, program, ...args] = f;
    let host = defHost;
    const colon = svc.lastIndexOf(':');
    if (colon >= 0 && !svc.includes('/')) { host = svc.slice(0, colon); svc = svc.slice(colon + 1); }
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const proto = protoField.split(',')[0];
    if (protoField.includes(',')) note(`${protoField.slice(proto.length + 1)}: socket buffer sizes are not translated`);
    if (proto.startsWith('rpc/') || svc.includes('/')) { note('RPC services are not converted (they need the portmapper)'); continue; }
    if (proto === 'unix') { note('UNIX-domain services are not converted'); continue; }
    if (program === 'internal') {
      note(INTERNAL_NAMES.has(svc) ? `internal service ${svc}: not converted (no external program; a one-process inetd is to serve these)` : 'internal service: not converted');
      continue;
    }
    if (host.includes(',')) { note('several local addresses on one line: not converted (write one line per address)'); continue; }
    const [wait, maxText] = waitField.split('.');
    if (maxText !== undefined) note(`${waitField}: ${maxText} is a rate (invocations per minute), tcpsvd/udpsvd have no rate limit; not translated`);
    let kind: 'tcp' | 'udp';
    if (socktype === 'stream' && /^tcp(4|6|46)?$/.test(proto)) {
      if (wait === 'wait') { note('stream wait: the program accepts connections itself; tcpsvd cannot hand it the listening socket'); continue; }
      kind = 'tcp';
    } else if (socktype === 'dgram' && /^udp4?$/.test(proto)) {
      if (wait === 'nowait') note('dgram nowait: udpsvd runs one program at a time (as wait)');
      kind = 'udp';
    } else if (socktype === 'dgram' && /^udp(6|46)$/.test(proto)) {
      note(`${proto}: udpsvd serves IPv4 only; not converted`); continue;
    } else {
      note(`${socktype}/${proto}: not converted`); continue;
    }
    if (wait !== 'wait' && wait !== 'nowait') { note(`${waitField}: neither wait nor nowait`); continue; }
    if (kind === 'udp' && proto === 'udp' && host === '*') note('udp: served on IPv4 only (udpsvd has no IPv6)');
    const m = /^([^:.]+)(?:[:.](.+))?$/.exec(userField);
    if (!m) { note(`${userField}: not user[:group]`); continue; }
    const argv = args.length > 0 ? args : [program];
    const uw = unwrap(program, argv);
    let daemon: string | undefined = wrapAll ? argv[0].replace(/^.*\//, '') : undefined;
    let prog = program, pargv = argv;
    if (uw) { prog = uw.program; pargv = uw.argv; daemon = uw.argv[0].replace(/^.*\//, ''); }
    else if (/(^|\/)tcpd$/.test(program)) { note('tcpd without a program to run'); continue; }
    const bind = host === '*' ? (proto === 'tcp6' ? '::' : proto === 'tcp4' || kind === 'udp' ? '0.0.0.0' : '0') : host;
    if (proto === 'tcp46') note('tcp46: served as tcp (IPv4 clients appear as IPv4, not mapped)');
    out.push({
      where, service: svc, kind, host: bind, port: svc, user: m[1], group: m[2],
      program: prog, argv: pargv, daemon, env: [],
    });
  }
  return out;
}
