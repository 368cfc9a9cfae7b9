// tai64nlocal against /usr/bin/tai64nlocal: same bytes out for the same
// labels in several time zones; our chunking never changes the output.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { LocalConverter } from '../src/tai64/local';
import { encodeLabel } from '../src/lib/tai64';
import { findReference, needReference, ours } from './helpers/common';

const OURS = ours('tai64nlocal');
const REF = findReference('tai64nlocal') ?? 'tai64nlocal';

function run(cmd: string, input: Buffer, tz: string): Buffer {
  const r = spawnSync(cmd, [], { input, env: { ...process.env, TZ: tz }, timeout: 20000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status} signal ${r.signal}`);
  return r.stdout;
}

// A deterministic generator, so that a failure can be replayed.
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

function labels(n: number, lo: number, hi: number, seed: number): string {
  const r = rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const secs = Math.floor(lo + r() * (hi - lo));
    const nanos = Math.floor(r() * 1e9);
    const tails = ['', ' text', '\tx', ' @4000 not a label', 'Z'];
    lines.push('@' + encodeLabel(secs, nanos) + tails[i % tails.length]);
  }
  return lines.join('\n') + '\n';
}

const ZONES = ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/St_Johns'];

t.test('generated labels, several zones, same as the reference', needReference('tai64nlocal'), async (t) => {
  // 1901..2105: the span where every zone has real rules on both sides.
  const input = Buffer.from(labels(3000, -2.1e9, 4.2e9, 7) + labels(500, 1.7e9, 1.8e9, 8));
  for (const tz of ZONES) {
    const ref = run(REF, input, tz);
    const ours = run(OURS, input, tz);
    t.equal(ours.toString('latin1'), ref.toString('latin1'), `TZ=${tz}`);
  }
});

t.test('DST transitions second by second', needReference('tai64nlocal'), async (t) => {
  // 2024-03-31 01:00 UTC (Paris spring forward), 2024-11-03 06:00 UTC (New York fall back).
  const lines: string[] = [];
  for (const at of [1711846800, 1730613600])
    for (let s = at - 3; s <= at + 3; s++) lines.push('@' + encodeLabel(s, 999999999) + ' x');
  const input = Buffer.from(lines.join('\n') + '\n');
  for (const tz of ['Europe/Paris', 'America/New_York'])
    t.equal(run(OURS, input, tz).toString(), run(REF, input, tz).toString(), tz);
});

t.test('odd but well-formed labels: large nanos, pre-1970, year 0 boundary', needReference('tai64nlocal'), async (t) => {
  const input = Buffer.from([
    '@400000006923a5b1ffffffff nanos beyond a second',
    '@40000000000000000000000a',
    '@3fffffffffffffff00000000 before the epoch',
    '@3ffffff1886e09000000000a year 1',
    '@400000006923a5b10000000a\u0000\u00ff binary after',
    'x@400000006923a5b10000000a not at line start',
    '',
    'plain line',
    '@400000006923a5b10000000a partial last line',
  ].join('\n'), 'latin1');
  t.equal(run(OURS, input, 'UTC').toString('latin1'), run(REF, input, 'UTC').toString('latin1'));
});

t.test('binary data without labels passes through byte for byte', needReference('tai64nlocal'), async (t) => {
  const r = rng(3);
  const bin = Buffer.alloc(100000);
  for (let i = 0; i < bin.length; i++) bin[i] = Math.floor(r() * 256) === 0x40 ? 0x41 : Math.floor(r() * 256);
  t.same(run(OURS, bin, 'UTC'), run(REF, bin, 'UTC'));
});

// The reference crashes (SIGSEGV) on these; we pass them through untouched.
t.test('malformed labels pass through unchanged', async (t) => {
  const bad = [
    '@ z', '@abc y', '@4000000069', '@400000006923A5B10000000a upper',
    '@400000006923a5b10000000aff 26 digits', '@400000006923a5b1000000 22 digits',
    '@@400000006923a5b10000000a', '@000000000000000000000000 beyond any clock',
  ].join('\n') + '\n@4000';
  t.equal(run(OURS, Buffer.from(bad), 'UTC').toString(), bad);
});

t.test('any chunking gives the same output', async (t) => {
  process.env.TZ = 'UTC';
  const input = Buffer.from(labels(200, 0, 2e9, 11) + '@4000\n@400000006923a5b10000000a');
  const whole = new LocalConverter();
  const expect = Buffer.concat([whole.push(input), whole.end()]);
  const r = rng(5);
  for (let trial = 0; trial < 50; trial++) {
    const c = new LocalConverter();
    const out: Buffer[] = [];
    for (let pos = 0; pos < input.length;) {
      const n = 1 + Math.floor(r() * 40);
      out.push(c.push(input.subarray(pos, pos + n)));
      pos += n;
    }
    out.push(c.end());
    t.same(Buffer.concat(out), expect, `trial ${trial}`);
  }
});
