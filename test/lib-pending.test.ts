// src/lib/pending: the bytes multilog and svlogd hold for current between
// deciding the cuts and writing them out.
import t from 'tap';
import { Pending } from '../src/lib/pending';

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, k) => (k * 7 + seed) & 0xff));

t.test('appends in order, growing past its first size without losing a byte', async (t) => {
  const q = new Pending();
  const parts = [bytes(40_000, 1), bytes(50_000, 2), bytes(3, 3), bytes(200_000, 4)];
  const whole = Buffer.concat(parts);
  // Each part from the middle of a larger buffer: off and len are honoured.
  for (const p of parts) {
    const around = Buffer.concat([Buffer.from('xx'), p, Buffer.from('yyy')]);
    q.add(around, 2, p.length);
  }
  t.equal(q.n, whole.length);
  t.ok(q.buf.subarray(0, q.n).equals(whole), 'the same bytes');
});

t.test('drop keeps the rest at the front; add goes on after it', async (t) => {
  const q = new Pending();
  q.add(Buffer.from('first line\nsecond line\n'), 0, 23);
  q.drop(11);
  t.equal(q.buf.toString('latin1', 0, q.n), 'second line\n');
  q.add(Buffer.from('third\n'), 0, 6);
  t.equal(q.buf.toString('latin1', 0, q.n), 'second line\nthird\n');
});

t.test('clear empties it and lets a queue grown past 1 MB go', async (t) => {
  const q = new Pending();
  q.add(bytes(100, 5), 0, 100);
  const small = q.buf;
  q.clear();
  t.equal(q.n, 0);
  t.equal(q.buf, small, 'a small queue is kept for the next read');
  q.add(bytes(3 << 20, 6), 0, 3 << 20);
  t.ok(q.buf.length >= 3 << 20);
  q.clear();
  t.equal(q.n, 0);
  t.ok(q.buf.length <= 1 << 20, 'the grown queue is let go');
  q.add(Buffer.from('after\n'), 0, 6);
  t.equal(q.buf.toString('latin1', 0, q.n), 'after\n');
});
