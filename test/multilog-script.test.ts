// The script parser and the pattern matcher, table-driven and fuzzed; the
// matcher's verdicts are checked against /usr/bin/multilog itself.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseScript, leadingNumber, MIN_SIZE, MAX_SIZE, DEFAULT_SIZE, DEFAULT_NUM } from '../src/multilog/script';
import { match } from '../src/multilog/match';
import { needReference, reference } from './helpers/common';

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

t.test('leading numbers as scan_ulong reads them', async (t) => {
  const table: [string, bigint][] = [
    ['', 0n], ['abc', 0n], ['12', 12n], ['12x3', 12n], ['007', 7n], [' 5', 0n], ['-5', 0n],
    ['18446744073709551615', 18446744073709551615n], ['18446744073709551616', 0n], ['18446744073709551617', 1n],
  ];
  for (const [s, n] of table) t.equal(leadingNumber(s), n, JSON.stringify(s));
});

t.test('settings apply to the directories after them', async (t) => {
  const s = parseScript(['t', './a', 's5000', 'n3', '!gzip', './b', 's1', 'n1', '/c', 's99999999', 'n', '!', './d']);
  t.equal(s.timestamp, true);
  t.same(s.dirs, [
    { dir: './a', size: DEFAULT_SIZE, num: DEFAULT_NUM, processor: null },
    { dir: './b', size: 5000, num: 3, processor: 'gzip' },
    { dir: '/c', size: MIN_SIZE, num: 2, processor: 'gzip' },
    { dir: './d', size: MAX_SIZE, num: 2, processor: '' },
  ]);
  t.same(parseScript(['e', 't', './x']).timestamp, false, 't counts only first');
  t.same(parseScript([]).actions, []);
  t.same(parseScript(['', 'x', 'T', 'hello']).actions, [], 'unknown actions are ignored');
  t.same(parseScript(['+a*', '-', '=st', 'e', 'ehh']).actions.map((a) => a.kind), ['select', 'deselect', 'status', 'alert', 'alert']);
});

t.test('fuzzed scripts parse without throwing and keep the invariants', async (t) => {
  const r = rng(42);
  const alphabet = ['t', 's', 'n', '!', '.', '/', '+', '-', '=', 'e', '*', '0', '9', 'x', ' ', '\u00e9'];
  let bad = 0;
  for (let i = 0; i < 5000; i++) {
    const args: string[] = [];
    const nargs = Math.floor(r() * 8);
    for (let k = 0; k < nargs; k++) {
      let a = '';
      const len = Math.floor(r() * 12);
      for (let j = 0; j < len; j++) a += alphabet[Math.floor(r() * alphabet.length)];
      args.push(a);
    }
    const s = parseScript(args);
    const ok = s.dirs.length === args.filter((a) => a[0] === '.' || a[0] === '/').length &&
      s.dirs.every((d) => d.size >= MIN_SIZE && d.size <= MAX_SIZE && d.num >= 2 && Number.isInteger(d.size)) &&
      s.timestamp === (args.length > 0 && args[0][0] === 't') &&
      s.actions.length === args.filter((a) => '+-=e./'.includes(a[0] ?? '#')).length;
    if (!ok) bad++;
  }
  t.equal(bad, 0);
});

// One reference run decides every (pattern, line) pair: for pattern k the
// script holds "-* +pattern ./dk", so dk receives exactly the matching lines.
t.test('match() agrees with /usr/bin/multilog on random patterns', needReference('multilog'), async (t) => {
  const r = rng(7);
  const pick = (chars: string, max: number) => {
    let s = '';
    const n = Math.floor(r() * max);
    for (let i = 0; i < n; i++) s += chars[Math.floor(r() * chars.length)];
    return s;
  };
  const patterns = ['*', '**', '***', 'a*', '*a', '*a*', 'a**b', '*[*]*', ''];
  while (patterns.length < 150) patterns.push(pick('ab*[] ', 7));
  const lines = ['', 'a', 'b', 'ab', 'aab', '*', '**', 'a*b', '[x]', 'a [b] a', 'a  b'];
  while (lines.length < 300) lines.push(pick('ab*[] ', 9));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'multilog-match-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const args = patterns.flatMap((p, k) => ['-*', '+' + p, `./d${k}`]);
  const res = spawnSync(reference('multilog'), args, { cwd: root, input: lines.join('\n') + '\n', timeout: 30000 });
  t.equal(res.status, 0);
  let disagreements = 0;
  patterns.forEach((p, k) => {
    const got = fs.readFileSync(path.join(root, `d${k}`, 'current'), 'latin1').split('\n').slice(0, -1);
    const ours = lines.filter((l) => match(Buffer.from(p), Buffer.from(l), l.length));
    if (JSON.stringify(got) !== JSON.stringify(ours)) {
      disagreements++;
      t.fail(`pattern ${JSON.stringify(p)}: reference ${JSON.stringify(got)} ours ${JSON.stringify(ours)}`);
    }
  });
  t.equal(disagreements, 0, `${patterns.length} patterns x ${lines.length} lines`);
});
