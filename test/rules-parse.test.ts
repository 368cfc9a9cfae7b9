// The tcprules language, line by line: what records each line makes, or why
// it is refused. Classic rows are also run through /usr/bin/tcprules and its
// CDB dumped with /usr/bin/cdb -d, so the expectations are the reference's.
// Extension rows (CIDR, IPv6) follow ucspi-tcp6's keying (src/rules/keys.ts).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LineCompiler, LineError } from '../src/rules/parse';
import { readLines } from '../src/rules/compile';
import { needReference, reference as refTool } from './helpers/common';

type Rec = [key: string, value: string];
interface Row { line: string; want: Rec[] | LineError; ext?: boolean }

const V6_1 = '0000:0000:0000:0000:0000:0000:0000:0001';
const range = (lo: number, hi: number, f: (n: number) => string, v: string): Rec[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => [f(lo + i), v] as Rec);

const rows: Row[] = [
  { line: '1.2.3.4:allow', want: [['1.2.3.4', '']] },
  { line: '1.2.3.4:deny', want: [['1.2.3.4', 'D\0']] },
  { line: '1.2.3.:allow,RELAYCLIENT=""', want: [['1.2.3.', '+RELAYCLIENT=\0']] },
  { line: ':allow,X=/a/,Y="b c"', want: [['', '+X=a\0+Y=b c\0']] },
  { line: '=:deny', want: [['=', 'D\0']] },
  { line: '=host.example:allow', want: [['=host.example', '']] },
  { line: '=.example:deny,X=xx', want: [['=.example', 'D\0+X=\0']] },
  { line: 'joe@1.2.3.4:deny', want: [['joe@1.2.3.4', 'D\0']] },
  { line: 'joe@=h.example:allow', want: [['joe@=h.example', '']] },
  { line: '1.2.3-5.:allow', want: range(3, 5, (n) => `1.2.${n}.`, '') },
  { line: '1.2.3.250-300:deny', want: range(250, 255, (n) => `1.2.3.${n}`, 'D\0') },
  { line: '1.2.5-3.:allow', want: [] },
  { line: '1.2.-2.:allow', want: range(0, 2, (n) => `1.2.${n}.`, '') },
  { line: '-2:allow', want: range(0, 2, (n) => `${n}`, '') },
  { line: '1-2.3-4.:allow', want: range(1, 2, (n) => `${n}.3-4.`, '') },
  { line: '1.2.3-99999999999999999999.:allow', want: range(3, 255, (n) => `1.2.${n}.`, '') },
  { line: '1.2.18446744073709551617-3.:allow', want: range(1, 3, (n) => `1.2.${n}.`, '') },
  { line: 'joe@1.2.3-4.:allow', want: [['joe@1.2.3-4.', '']] },
  { line: '=a-b:allow', want: [['=a-b', '']] },
  { line: '# 1.2.3.4:deny', want: [] },
  { line: '', want: [] },
  { line: 'no colon', want: [] },
  { line: '   ', want: [] },
  { line: ' #x:allow', want: [[' #x', '']] },
  { line: '1.2.3.4:allow,X="a"  \t ', want: [['1.2.3.4', '+X=a\0']] },
  { line: '1.2.3.4:allow,A,B=xx', want: [['1.2.3.4', '+A,B=\0']] },
  { line: '1.2.3.4:allow,=..', want: [['1.2.3.4', '+=\0']] },
  { line: '1.2.3.4:allow,X=:a:', want: [['1.2.3.4', '+X=a\0']] },
  { line: '1.2.3.4:deny,X=",",Y=\'"\'', want: [['1.2.3.4', 'D\0+X=,\0+Y="\0']] },
  { line: '1.2.3.4:allowx', want: 'parse' },
  { line: '1.2.3.4:allow,X', want: 'parse' },
  { line: '1.2.3.4:allow,X=', want: 'parse' },
  { line: '1.2.3.4:allow,X="a', want: 'parse' },
  { line: '1.2.3.4:allow ,X="a"', want: 'parse' },
  { line: '1.2.3.4:Deny', want: 'parse' },
  { line: '1.2.3.4:', want: 'parse' },
  { line: '1.2.3.4:allow\r', want: 'parse' },
  { line: '1.2.a-3.:allow', want: 'parse' },
  { line: '1.2.3-x.:allow', want: 'parse' },
  { line: 'foo:bar:allow', want: 'parse' },
  // ucspi-tcp6 extensions
  { ext: true, line: '10.0.0.0/8:deny', want: [['_0000e0g0', 'D\0']] },
  { ext: true, line: '192.168.0.0/16:allow', want: [['_ab000000i0k0m000', '']] },
  { ext: true, line: '10.1/16:allow,X="y"', want: [['_0000e0g00000000p', '+X=y\0']] },
  { ext: true, line: '10.255.0.0/9:allow', want: [['_0000e0g0i', '']] },
  // 1.2.3.4: bits 7, 14, 22, 23, 29 set, each lettered by its position
  { ext: true, line: '1.2.3.4/32:allow', want: [['_' + '0000000h' + '000000o0' + '000000wx' + '00000400', '']] },
  { ext: true, line: '10.0.0.0/33:allow', want: 'prefix' },
  { ext: true, line: '10.0.0.0/0:allow', want: 'prefix' },
  { ext: true, line: '10.0.0.0/:allow', want: 'prefix' },
  { ext: true, line: '10.0.0.0/x:allow', want: 'parse' },
  { ext: true, line: '10/16:allow', want: 'ipv4cidr' },
  { ext: true, line: '10.0.0.256/8:allow', want: 'ipv4cidr' },
  { ext: true, line: '10.0.0.0.0/8:allow', want: 'ipv4cidr' },
  { ext: true, line: '10..0.0/8:allow', want: 'ipv4cidr' },
  { ext: true, line: '::1:allow', want: [[V6_1, '']] },
  { ext: true, line: '::1:allow,X=":"', want: [[V6_1, '+X=:\0']] },
  { ext: true, line: '2001:DB8::1:deny', want: [['2001:0DB8:0000:0000:0000:0000:0000:0001', 'D\0']] },
  { ext: true, line: '2001:db8:0:0:1:0:0:1:allow', want: [['2001:0DB8:0000:0000:0001:0000:0000:0001', '']] },
  { ext: true, line: '::ffff:1.2.3.4:allow', want: [['0000:0000:0000:0000:0000:FFFF:0102:0304', '']] },
  { ext: true, line: 'joe@::1:allow,X="y"', want: [[`joe@${V6_1}`, '+X=y\0']] },
  { ext: true, line: '2001:db8::/32:deny', want: [['^00`000000000000a0000bc0de0fgh000', 'D\0']] },
  { ext: true, line: '8000::/1:allow', want: [['^`', '']] },
  { ext: true, line: '2001:db8::/129:allow', want: 'prefix' },
  { ext: true, line: '2001:db8::/0:allow', want: 'prefix' },
  { ext: true, line: '2001:zz::/32:allow', want: 'ipv6cidr' },
  { ext: true, line: '1:2:3:allow', want: 'ipv6' },
  { ext: true, line: '1::2::3:allow', want: 'ipv6' },
  { ext: true, line: '1:2:3:4:5:6:7:8:9:allow', want: 'ipv6' },
  { ext: true, line: '::1:allowx', want: 'parse' },
  { ext: true, line: 'joe@::1/64:allow', want: 'parse' },
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulesparse-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function ours(text: string): Rec[] | LineError {
  const recs: Rec[] = [];
  const lc = new LineCompiler({
    addRecord(k, ks, ke, v, vs, ve) {
      recs.push([k.toString('latin1', ks, ke), v.toString('latin1', vs, ve)]);
    },
  });
  const file = path.join(dir, 'in');
  fs.writeFileSync(file, Buffer.from(text, 'latin1'));
  const fd = fs.openSync(file, 'r');
  let err: LineError | null = null;
  try {
    readLines(fd, (buf, s, e) => { err = err ?? lc.line(buf, s, e); });
  } finally {
    fs.closeSync(fd);
  }
  return err ?? recs;
}

// /usr/bin/cdb -d prints "+klen,dlen:key->data\n" per record, in file order.
function dumpRecords(dump: Buffer): Rec[] {
  const out: Rec[] = [];
  let at = 0;
  while (at < dump.length && dump[at] === 0x2b) {
    const comma = dump.indexOf(0x2c, at);
    const colon = dump.indexOf(0x3a, comma);
    const klen = Number(dump.toString('latin1', at + 1, comma));
    const dlen = Number(dump.toString('latin1', comma + 1, colon));
    const k = colon + 1;
    const d = k + klen + 2;
    out.push([dump.toString('latin1', k, k + klen), dump.toString('latin1', d, d + dlen)]);
    at = d + dlen + 1;
  }
  return out;
}

function reference(text: string): Rec[] | 'fail' {
  const cdb = path.join(dir, 'ref.cdb');
  const r = spawnSync(refTool('tcprules'), [cdb, cdb + '.tmp'], { input: Buffer.from(text, 'latin1') });
  if (r.status !== 0) return 'fail';
  return dumpRecords(spawnSync(refTool('cdb'), ['-d', cdb]).stdout);
}


t.test('each line, ours', async (t) => {
  for (const row of rows) t.same(ours(row.line + '\n'), row.want, JSON.stringify(row.line));
});

t.test('classic rows agree with the reference', needReference('tcprules', 'cdb'), async (t) => {
  for (const row of rows.filter((r) => !r.ext)) {
    const ref = reference(row.line + '\n');
    t.same(ref, typeof row.want === 'string' ? 'fail' : row.want, JSON.stringify(row.line));
  }
});

t.test('line endings and the last line', async (t) => {
  t.same(ours('1.2.3.4:allow'), [['1.2.3.4', '']], 'no final newline');
  t.same(ours('\n\n#x\n1.2.3.4:deny\n\n'), [['1.2.3.4', 'D\0']], 'blank lines and comments');
  t.same(ours('a:allow\nb:allow,X="\0"\n'), [['a', ''], ['b', '+X=\0\0']], 'NUL bytes pass through');
  const long = 'v'.repeat(3 << 20); // longer than a read chunk: the buffer grows
  t.same(ours(`x:allow\n1.2.3.4:allow,X="${long}"\ny:deny`), [['x', ''], ['1.2.3.4', `+X=${long}\0`], ['y', 'D\0']], 'a 3 MiB line');
});
