// src/lib/tai64: the packed form (supervise/status) and the label (multilog)
// are one TAI64N; moments carry the originals' precision.
import t from 'tap';
import { decodeLabel, encodeLabel, packTai, taiNow, timestampLabel, unpackTai } from '../src/lib/tai64';

t.test('packed and label agree', async (t) => {
  for (const [sec, nano] of [[0, 0], [1700000000, 123456500], [-1, 999999999], [2 ** 40, 1]]) {
    const b = Buffer.alloc(12);
    packTai({ sec, nano }, b);
    t.equal(b.toString('hex'), encodeLabel(sec, nano), `${sec}.${nano}`);
    t.same(unpackTai(b), { sec, nano });
    const d = decodeLabel(Buffer.from(encodeLabel(sec, nano), 'latin1'), 0);
    t.same([Number(d.secs), d.nanos], [sec, nano]);
  }
  // 2^62 + 10 for the epoch, as djb's libtai.
  t.equal(encodeLabel(0, 0), '400000000000000a00000000');
});

t.test('microseconds*1000+500, as gettimeofday gives the originals', async (t) => {
  t.same(taiNow(1_234_567), { sec: 1, nano: 234_567_500 });
  t.equal(timestampLabel(1_234_567), '@400000000000000b0dfb6ef4'.slice(0, 17) + (234_567_500).toString(16).padStart(8, '0'));
});
