// The instruction parser and the candidate names, table-driven. Each row's
// expectation follows ipsvd-instruct(5) and, for the quirks, ipsvd's reading
// (confirmed with /usr/bin/ipsvd-cdb where it shows: see ipsvd-cdb.test.ts).
import t from 'tap';
import { parseInstruction, unescapeMsg, fileText, execText, splitLines } from '../src/instruct/parse';
import { candidates, cidrName, prefixLens, NO_PREFIXES } from '../src/instruct/candidates';

t.test('parseInstruction', async (t) => {
  const rows: Array<[string, object]> = [
    ['', { kind: 'skip' }],
    ['# comment', { kind: 'skip' }],
    ['#', { kind: 'skip' }],
    ['+MEMORY=20000', { kind: 'set', name: 'MEMORY', value: '20000' }],
    ['+DEBUG=', { kind: 'set', name: 'DEBUG', value: '' }],
    ['+A=b=c', { kind: 'set', name: 'A', value: 'b=c' }],
    ['+LOGNAME', { kind: 'unset', name: 'LOGNAME' }],
    ['+', { kind: 'skip' }],              // no name: dropped silently
    ['+=x', { kind: 'skip' }],
    ['C16', { kind: 'limit', limit: 16 }],
    ['C0', { kind: 'limit', limit: 0 }],
    ['C', { kind: 'limit', limit: 0 }],     // no digits: 0, limit off
    ['Cx', { kind: 'limit', limit: 0 }],
    ['C3:busy', { kind: 'limit', limit: 3, msg: 'busy' }],
    ['C3:', { kind: 'limit', limit: 3, msg: '' }],
    ['C:hi', { kind: 'limit', limit: 0, msg: 'hi' }],
    ['C3 :x', { kind: 'limit', limit: 3 }], // ':' must follow the digits
    ['C1:a\\nb\\r\\\\c', { kind: 'limit', limit: 1, msg: 'a\nb\r\\c' }],
    ['=floyd.dyn.smarden.org', { kind: 'check', host: 'floyd.dyn.smarden.org' }],
    ['=floyd.dyn.smarden.org:127.0.0.1', { kind: 'check', host: 'floyd.dyn.smarden.org', forward: '127.0.0.1' }],
    ['=0', { kind: 'check', host: '0' }],
    ['=0:fw', { kind: 'check', host: '0', forward: 'fw' }],
    ['=h:', { kind: 'check', host: 'h' }],  // empty forward: none
    ['=h:a:b', { kind: 'check', host: 'h', forward: 'a:b' }],
    ['=', { kind: 'check', host: '' }],
    ['bad', { kind: 'bad' }],
    [' +A=1', { kind: 'bad' }],             // no leading blanks allowed
    ['c3', { kind: 'bad' }],
    ['-A', { kind: 'bad' }],
  ];
  for (const [line, want] of rows) t.same(parseInstruction(line), want, JSON.stringify(line));
});

t.test('unescapeMsg', async (t) => {
  const rows: Array<[string, string]> = [
    ['plain', 'plain'],
    ['a\\nb', 'a\nb'],
    ['\\r\\n', '\r\n'],
    ['back\\\\slash', 'back\\slash'],
    ['keep\\t', 'keep\\t'],   // unknown escapes stay as written
    ['end\\', 'end'],         // a lone final backslash is dropped
    ['\\\\n', '\\n'],
  ];
  for (const [i, o] of rows) t.equal(unescapeMsg(i), o, JSON.stringify(i));
});

t.test('file text', async (t) => {
  const rows: Array<[string, string[]]> = [
    ['', ['']],
    ['\n', ['']],
    ['a\n', ['a']],
    ['a', ['a']],
    ['a\nb\n', ['a', 'b']],
    ['two\n\n', ['two', '']],  // only one final newline goes
    ['a\0b\n', ['a', 'b']],    // a NUL splits a line, as in ipsvd's C strings
  ];
  for (const [i, o] of rows) t.same(splitLines(fileText(Buffer.from(i))), o, JSON.stringify(i));
  t.equal(execText(Buffer.from('echo hi\n')).toString(), 'echo hi');
  t.equal(execText(Buffer.from('a\nb\n\n')).toString(), 'a\nb\n');
});

t.test('cidrName', async (t) => {
  const rows: Array<[string, object | undefined]> = [
    ['10.0.0.0_8', { v6: false, len: 8 }],
    ['127.0.0.128_25', { v6: false, len: 25 }],
    ['2001:db8::_32', { v6: true, len: 32 }],
    ['::_1', { v6: true, len: 1 }],
    ['10.0.0.0_0', undefined],
    ['10.0.0.0_33', undefined],
    ['2001:db8::_129', undefined],
    ['foo_8', undefined],          // no '.' nor ':': a plain name
    ['a.b_', undefined],
    ['_8', undefined],
    ['1.2.3.4_x', undefined],
    ['1.2.3.4_0008', undefined],
  ];
  for (const [n, o] of rows) t.same(cidrName(n), o, n);
  t.same(prefixLens(['0', '10.0.0.0_8', '127.0.0.128_25', '10.1.0.0_16', 'x.example', '2001:db8::_32', '1.2.3.0_24']),
    { v4: [25, 24, 16, 8], v6: [32] });
});

t.test('candidates', async (t) => {
  const rows: Array<[string, string | undefined, string[]]> = [
    ['1.2.3.4', undefined, ['1.2.3.4', '1.2.3', '1.2', '1', '0']],
    ['1.2.3.4', 'moa.bit.smarden.org',
      ['1.2.3.4', '1.2.3', '1.2', '1', 'moa.bit.smarden.org', 'bit.smarden.org', 'smarden.org', 'org', '0']],
    ['1.2.3.4', 'localhost', ['1.2.3.4', '1.2.3', '1.2', '1', 'localhost', '0']],
    ['2001:db8::1', undefined, ['2001:db8::1', '0']],
    ['::1', 'six.example', ['::1', 'six.example', 'example', '0']],
    // PTR answers shaped like address entries never reach them.
    ['1.2.3.4', '10.0.0.1', ['1.2.3.4', '1.2.3', '1.2', '1', '0']],
    ['1.2.3.4', 'evil.10', ['1.2.3.4', '1.2.3', '1.2', '1', 'evil.10', '0']],
    ['1.2.3.4', 'x.10.0.0.0_8', ['1.2.3.4', '1.2.3', '1.2', '1', '0_8', '0']],
    ['1.2.3.4', 'a\\057b.example', ['1.2.3.4', '1.2.3', '1.2', '1', 'a\\057b.example', 'example', '0']],
  ];
  for (const [ip, host, o] of rows) t.same(candidates(ip, host, NO_PREFIXES), o, `${ip} ${host}`);
  // CIDR names take their place by prefix length, after the classic name of the same length.
  t.same(candidates('127.0.0.200', undefined, { v4: [32, 25, 24, 9], v6: [] }),
    ['127.0.0.200', '127.0.0.200_32', '127.0.0.128_25', '127.0.0', '127.0.0.0_24', '127.0', '127.0.0.0_9', '127', '0']);
  t.same(candidates('10.255.1.2', undefined, { v4: [12], v6: [] }),
    ['10.255.1.2', '10.255.1', '10.255', '10.240.0.0_12', '10', '0']);
  t.same(candidates('2001:db8:1:2::5', 'h.example', { v4: [8], v6: [64, 48, 32] }),
    ['2001:db8:1:2::5', '2001:db8:1:2::_64', '2001:db8:1::_48', '2001:db8::_32', 'h.example', 'example', '0']);
  t.same(candidates('2001:db8::1', undefined, { v4: [], v6: [127] }), ['2001:db8::1', '2001:db8::_127', '0']);
});
