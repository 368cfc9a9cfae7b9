// src/lib/scan: djb's scan_ulong, on text and on bytes, with its 2^64 wrap.
import t from 'tap';
import { scanUlong, scanUlongBig } from '../src/lib/scan';

// [input, at, value mod 2^64, end]
const table: Array<[string, number, bigint, number]> = [
  ['', 0, 0n, 0],
  ['abc', 0, 0n, 0],
  ['12', 0, 12n, 2],
  ['12x3', 0, 12n, 2],
  ['007', 0, 7n, 3],
  [' 5', 0, 0n, 0],
  ['-5', 0, 0n, 0],
  ['+5', 0, 0n, 0],
  ['x42:7', 1, 42n, 3],
  ['x42:7', 4, 7n, 5],
  ['x42', 3, 0n, 3],
  ['999999999999999', 0, 999999999999999n, 15],           // 15 digits: the plain-number path
  ['9999999999999999', 0, 9999999999999999n, 16],         // 16: past it
  ['9007199254740993', 0, 9007199254740993n, 16],         // 2^53 + 1
  ['18446744073709551615', 0, 18446744073709551615n, 20],
  ['18446744073709551616', 0, 0n, 20],
  ['18446744073709551617k', 0, 1n, 20],
  ['000000000000000000000000012', 0, 12n, 27],          // leading zeros are digits too
  ['٣', 0, 0n, 0],                                        // only ASCII digits
];

t.test('text: value and end as scan_ulong gives them', async (t) => {
  for (const [s, at, v, end] of table) {
    t.same(scanUlongBig(s, at), [v, end], `big ${JSON.stringify(s)} at ${at}`);
    t.same(scanUlong(s, at), [Number(v), end], `number ${JSON.stringify(s)} at ${at}`);
  }
});

t.test('bytes read as the text does', async (t) => {
  for (const [s, at, v, end] of table) {
    const b = Buffer.from(s, 'latin1');
    if (b.length !== s.length) continue; // the one non-latin1 entry
    t.same(scanUlongBig(b, at), [v, end], `big bytes ${JSON.stringify(s)}`);
    t.same(scanUlong(b, at), [Number(v), end], `number bytes ${JSON.stringify(s)}`);
    t.same(scanUlong(new Uint8Array(b), at), [Number(v), end], `Uint8Array ${JSON.stringify(s)}`);
  }
  // A byte above 0x7f is no digit, nor a NUL.
  t.same(scanUlong(Buffer.from([0x31, 0xb9, 0x32])), [1, 1]);
  t.same(scanUlong(Buffer.from([0x31, 0x00, 0x32])), [1, 1]);
});

t.test('exact below 2^53', async (t) => {
  t.same(scanUlong('9007199254740991'), [Number.MAX_SAFE_INTEGER, 16]);
  t.same(scanUlong('4294967296'), [4294967296, 10]);
});

t.test('limit ends the digits read, never past the text', async (t) => {
  t.same(scanUlong('12345', 0, 3), [123, 3]);
  t.same(scanUlong('12345', 1, 1), [0, 1]);
  t.same(scanUlong('12', 0, 99), [12, 2]);
  t.same(scanUlong(Buffer.from('1.23.'), 2, 4), [23, 4]);
  t.same(scanUlongBig('123456789012345678901', 0, 18), [123456789012345678n, 18]);
  t.same(scanUlong('99999999999999999999', 0, 15), [999999999999999, 15]);
});
