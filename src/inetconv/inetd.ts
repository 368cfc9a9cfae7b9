// inetd.conf as openbsd-inetd reads it: blank-separated fields, '#' comments,
// a line starting with a blank continues the one before, "host:" prefixes
// (alone on a line they become the default for the lines after).
import type { Where } from './hosts';
import { INTERNAL, unwrap, type InternalLine, type Note, type Service } from './service';

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

/** A refusal's reason, saying once that the line is not converted. */
const notConverted = (r: string) => (r.includes('not converted') ? r : `${r}; not converted`);

/**
 * wrapAll: inetd -l (libwrap for every service): the rules apply to
 * unwrapped lines too. Internal services go to internals, as lines for our
 * inetd. A line that cannot be converted has every reason listed, not only
 * the first.
 */
export function parseInetd(text: string, file: string, wrapAll: boolean, notes: Note[], internals: InternalLine[] = []): Service[] {
  const out: Service[] = [];
  let defHost = '*';
  let defHostText = '';
  for (const { line, text: t } of inetdLines(text)) {
    const where: Where = { file, line };
    const f = t.split(/[ \t]+/);
    const note = (reason: string) => notes.push({ where, what: t, reason });
    if (f.length === 1 && f[0].endsWith(':')) {
      defHostText = f[0].slice(0, -1);
      defHost = defHostText;
      if (defHost.startsWith('[') && defHost.endsWith(']')) defHost = defHost.slice(1, -1);
      continue;
    }
    if (f.length < 6) { note('fewer than six fields: not an inetd.conf service line'); continue; }
    // Every reason the line cannot be converted, listed together at the end.
    const refused: string[] = [];
    const refuse = (reason: string) => refused.push(reason);
    let [svc] = f;
    const [first, socktype, protoField, waitField, userField, program, ...args] = f;
    let host = defHost;
    const colon = svc.lastIndexOf(':');
    if (colon >= 0 && !svc.includes('/')) { host = svc.slice(0, colon); svc = svc.slice(colon + 1); }
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const proto = protoField.split(',')[0];
    if (protoField.includes(',')) note(`${protoField.slice(proto.length + 1)}: socket buffer sizes are not translated`);
    if (proto.startsWith('rpc/') || svc.includes('/')) refuse('RPC services are not converted (they need the portmapper)');
    if (proto === 'unix') refuse('UNIX-domain services are not converted');
    const [wait, maxText] = waitField.split('.');
    if (wait !== 'wait' && wait !== 'nowait') refuse(`${waitField}: neither wait nor nowait`);
    if (maxText !== undefined && !/^\d+$/.test(maxText)) refuse(`${waitField}: ${maxText} is not a number`);
    const m = /^([^:.]+)(?:[:.](.+))?$/.exec(userField);
    if (!m) refuse(`${userField}: not user[:group]`);

    if (program === 'internal') {
      // Served by our inetd as it is: the line is copied, with the local
      // address a "host:" line before it gave.
      if (!Object.hasOwn(INTERNAL, svc)) refuse(`internal service ${svc}: our inetd serves only ${Object.keys(INTERNAL).join(', ')}`);
      if (refused.length > 0) { for (const r of refused) note(notConverted(r)); continue; }
      const field0 = colon >= 0 || defHostText === '' ? first : `${defHostText}:${first}`;
      internals.push({ where, service: svc, line: [field0, socktype, protoField, waitField, userField, 'internal'].join('\t'), daemon: wrapAll ? svc : undefined });
      continue;
    }
    if (host.includes(',')) refuse('several local addresses on one line: not converted (write one line per address)');
    let kind: 'tcp' | 'udp' | undefined;
    if (socktype === 'stream' && /^tcp(4|6|46)?$/.test(proto)) {
      if (wait === 'wait') refuse('stream wait: the program accepts connections itself; tcpsvd cannot hand it the listening socket');
      kind = 'tcp';
    } else if (socktype === 'dgram' && /^udp4?$/.test(proto)) {
      kind = 'udp';
    } else if (socktype === 'dgram' && /^udp(6|46)$/.test(proto)) {
      refuse(`${proto}: udpsvd serves IPv4 only`);
    } else if (!proto.startsWith('rpc/') && proto !== 'unix') {
      refuse(`${socktype}/${proto}: not converted`);
    }
    const argv = args.length > 0 ? args : [program];
    const uw = unwrap(program, argv);
    if (!uw && /(^|\/)tcpd$/.test(program)) refuse('tcpd without a program to run');
    if (refused.length > 0 || !m || kind === undefined) { for (const r of refused) note(notConverted(r)); continue; }
    if (kind === 'udp' && wait === 'nowait') note('dgram nowait: udpsvd runs one program at a time (as wait)');
    let rate: Service['rate'];
    if (maxText !== undefined) {
      const n = Number(maxText);
      if (kind === 'udp') note(`${waitField}: ${maxText} is a rate (invocations per minute); udpsvd has no rate limit; not translated`);
      else if (n < 1 || n > 999_999_999) note(`${waitField}: a rate tcpsvd --rate cannot take; not translated`);
      else {
        rate = { count: n, seconds: 60 };
        note(`${waitField}: tcpsvd --rate=${n}/60, a rate per client address: each may connect ${n} times a minute, and only it is refused past that; inetd counted the service's starts (at most ${n - 1} a minute) and then closed the service for ten minutes`);
      }
    }
    if (kind === 'udp' && proto === 'udp' && host === '*') note('udp: served on IPv4 only (udpsvd has no IPv6)');
    let daemon: string | undefined = wrapAll ? argv[0].replace(/^.*\//, '') : undefined;
    let prog = program, pargv = argv;
    if (uw) { prog = uw.program; pargv = uw.argv; daemon = uw.argv[0].replace(/^.*\//, ''); }
    // openbsd-inetd's tcp (and tcp46) on * takes both families: tcpsvd's ::
    // does (its 0 is IPv4 only, as ipsvd's); tcp4 is 0.0.0.0. tcp6 is IPv6
    // only there, and tcpsvd has no IPv6-only socket: said.
    const bind = host === '*' ? (proto === 'tcp4' || kind === 'udp' ? '0.0.0.0' : '::') : host;
    if (proto === 'tcp46') note('tcp46: served as tcp (IPv4 clients appear as IPv4, not mapped)');
    if (proto === 'tcp6' && host === '*') note('tcp6: served on ::, which takes IPv4 clients too (tcpsvd has no IPv6-only socket; inetd took IPv6 clients only)');
    out.push({
      where, service: svc, kind, host: bind, port: svc, user: m[1], group: m[2],
      program: prog, argv: pargv, daemon, env: [], rate,
    });
  }
  return out;
}
