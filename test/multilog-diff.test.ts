// multilog against /usr/bin/multilog: same input, same script, then the
// two directories must hold the same files (old-file timestamps aside),
// the same bytes in each, the same modes; status files and alerts alike.
// Input comes from a regular file, so both read it in the same pieces.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findReference, needReference, ours, sleep, spawn } from './helpers/common';

const OURS = ours('multilog');
const REF = findReference('multilog') ?? 'multilog';

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

// Lines of mixed length: mostly short, some past 512 (the buffer) and
// past 1000 (what patterns see); words that the patterns below look for.
function makeInput(nlines: number, seed: number, partialLast = false): Buffer {
  const r = rng(seed);
  const words = ['fatal:', 'STAT', 'named[135]:', 'hello', '*', 'x', 'a b', '[x]', ''];
  let s = '';
  for (let i = 0; i < nlines; i++) {
    const long = r() < 0.04;
    let n = long ? Math.floor(r() * 3000) : Math.floor(r() * 100);
    let l = r() < 0.5 ? words[Math.floor(r() * words.length)] + ' ' : '';
    while (n-- > 0) l += String.fromCharCode(97 + Math.floor(r() * 26));
    if (r() < 0.05) l = '';
    s += l + (i === nlines - 1 && partialLast ? '' : '\n');
  }
  return Buffer.from(s);
}

interface Run {
  status: number | null;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, input: Buffer, env: NodeJS.ProcessEnv = process.env): Run {
  const file = path.join(cwd, '..', `input-${process.pid}-${Math.random()}`);
  fs.writeFileSync(file, input);
  const fd = fs.openSync(file, 'r');
  try {
    const r = spawnSync(cmd, args, { cwd, env, stdio: [fd, 'pipe', 'pipe'], timeout: 60000 });
    if (r.error) throw r.error;
    return { status: r.status, stderr: r.stderr.toString() };
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(file);
  }
}

const LABEL = /@[0-9a-f]{24}/g;

// Directory contents with the timestamps taken out; old files keep their
// order (the names sort by time).
function snapshot(dir: string, labels: boolean): string[] {
  return fs.readdirSync(dir).sort().flatMap((name): string[] => {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) return [`${name}/ ${mode}`, ...snapshot(p, labels).map((e) => `${name}/${e}`)];
    let body = fs.readFileSync(p, 'latin1');
    if (labels) body = body.replace(LABEL, '@T');
    return [`${name.replace(LABEL, '@T')} ${mode} ${st.size} ${JSON.stringify(body)}`];
  });
}

function sandbox(t: any): { ref: string; ours: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'multilog-diff-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const ref = path.join(root, 'ref');
  const ours = path.join(root, 'ours');
  fs.mkdirSync(ref);
  fs.mkdirSync(ours);
  return { ref, ours };
}

// Runs both, each in its own directory, and compares everything.
// opts.env: more environment for ours.
function compare(t: any, args: string[], inputs: Buffer[], opts: { labels?: boolean; between?: (dir: string) => void; oursTurns?: string[]; env?: NodeJS.ProcessEnv } = {}) {
  const box = sandbox(t);
  const results: Record<string, Run[]> = { ref: [], ours: [] };
  for (const [who, cmd] of [['ref', REF], ['ours', OURS]] as const)
    inputs.forEach((input, i) => {
      if (i > 0 && opts.between) opts.between(box[who]);
      results[who].push(run(who === 'ours' && opts.oursTurns ? opts.oursTurns[i] : cmd, args, box[who], input,
        who === 'ours' ? { ...process.env, ...opts.env } : process.env));
    });
  const norm = (rs: Run[]) => rs.map((r) => ({ status: r.status, stderr: r.stderr.replace(LABEL, '@T') }));
  t.same(norm(results.ours), norm(results.ref), 'exit codes and stderr');
  t.same(snapshot(box.ours, !!opts.labels), snapshot(box.ref, !!opts.labels), 'files');
  return box;
}

t.test('rotation at s4096 n5: same cut points, same files', needReference('multilog'), async (t) => {
  compare(t, ['s4096', 'n5', './main'], [makeInput(4000, 1)]);
});

// A log without a processor rotates through the addon when it is there;
// without it, the same steps in JavaScript must cut and prune the same.
t.test('rotation without the addon: same cut points, same files', needReference('multilog'), async (t) => {
  const env = { UCSPI_NO_NATIVE: '1' };
  compare(t, ['s4096', 'n5', './main'], [makeInput(4000, 1)], { env });
  compare(t, ['t', 's4096', 'n3', './a', 's5000', 'n4', './b'], [makeInput(3000, 3, true)], { labels: true, env });
  compare(t, ['s4096', 'n4', './main'], [makeInput(500, 7), makeInput(900, 8)], { env });
});

// Pruning goes by name: whatever starts with @ and has 25 bytes or more
// counts as an old file, the smallest name goes first, and a name from
// "@z" on is counted but never the oldest.
t.test('names that look like old files are counted and pruned by name', needReference('multilog'), async (t) => {
  const between = (dir: string) => {
    const main = path.join(dir, 'main');
    for (const n of ['@0000000000000000000000000.x', '@000000000000000000000000', '@zzzzzzzzzzzzzzzzzzzzzzzzzz', '@short', 'x@0000000000000000000000000'])
      fs.writeFileSync(path.join(main, n), n);
  };
  for (const env of [{}, { UCSPI_NO_NATIVE: '1' }])
    compare(t, ['s4096', 'n4', './main'], [makeInput(100, 31), makeInput(600, 32)], { between, env });
});

t.test('rotation of uniform short lines: cut points follow the 512-byte buffer', needReference('multilog'), async (t) => {
  for (const width of [7, 31, 100]) {
    let s = '';
    for (let i = 0; i < 3000; i++) s += String(i).padStart(width, '.') + '\n';
    compare(t, ['s4096', './main'], [Buffer.from(s)]);
  }
});

t.test('default size and count', needReference('multilog'), async (t) => {
  compare(t, ['./main'], [makeInput(25000, 2)]);
});

t.test('timestamps, two logs with different sizes, partial last line', needReference('multilog'), async (t) => {
  compare(t, ['t', 's5000', 'n3', './a', 's9000', 'n4', './b'], [makeInput(3000, 3, true)], { labels: true });
});

t.test('line lengths around the 1000-byte window, with and without t', needReference('multilog'), async (t) => {
  const lens = [0, 1, 511, 512, 513, 973, 974, 975, 999, 1000, 1001, 1024, 1025, 2047, 2048, 5000];
  const input = Buffer.from(lens.map((n) => 'x'.repeat(n)).join('\n') + '\n' + 'y'.repeat(1000));
  compare(t, ['s4096', './main'], [input, input, input]);
  compare(t, ['t', 's4096', './main'], [input, input, input], { labels: true });
});

const PATTERNS = [
  '*', '', 'hello', 'hello*', '*hello', '*hello*', 'fatal: *', '* fatal: *', 'named[*]: *',
  '**', '*a*b', 'x*', '*x', '[*]*', '* *', 'STAT*', 'a b', '*:', '*.*',
];

t.test('selection: +pattern and -pattern with tricky patterns', needReference('multilog'), async (t) => {
  const args: string[] = ['s16777215'];
  PATTERNS.forEach((p, i) => args.push('-*', '+' + p, `./sel${i}`));
  PATTERNS.forEach((p, i) => args.push('+*', '-' + p, `./desel${i}`));
  args.push('-*', '+*a*', '-*b*', '+*c', './mixed');
  compare(t, args, [makeInput(3000, 4, true)]);
});

t.test('selection sees the timestamp', needReference('multilog'), async (t) => {
  compare(t, ['t', '-*', '+* fatal: *', './fatal', '+*', '-@*', './none'], [makeInput(2000, 5)], { labels: true });
});

t.test('status files and alerts', needReference('multilog'), async (t) => {
  const input = makeInput(1500, 6);
  compare(t, ['-*', '+STAT*', '=status', '+*', '=last', '-*', '+fatal:*', 'e', '=never_unless_fatal'], [input]);
  compare(t, ['t', 'e', '-*', '+*x*', 'e', '=st'], [input], { labels: true });
});

t.test('status file of a long line and of nothing', needReference('multilog'), async (t) => {
  compare(t, ['=long', '-*', '=empty'], [Buffer.from('z'.repeat(3000) + '\n')]);
});

t.test('clean restarts append; an outage leaves a .u file', needReference('multilog'), async (t) => {
  const inputs = [makeInput(300, 7), makeInput(300, 8), makeInput(300, 9), makeInput(300, 10)];
  compare(t, ['s4096', 'n20', './main'], inputs, {
    // Before the third run, pretend the second one crashed.
    between: (dir) => {
      const cur = path.join(dir, 'main', 'current');
      if (fs.readdirSync(path.join(dir, 'main')).filter((n) => n.endsWith('.u')).length === 0 && fs.statSync(cur).size > 0 && fs.readdirSync(path.join(dir, 'main')).length > 5)
        fs.chmodSync(cur, 0o644);
    },
  });
});

t.test('ours and the reference take turns on one directory', needReference('multilog'), async (t) => {
  const inputs = [makeInput(900, 21), makeInput(900, 22), makeInput(900, 23), makeInput(900, 24)];
  compare(t, ['s4096', 'n30', './main'], inputs, { oursTurns: [OURS, REF, OURS, REF] });
  compare(t, ['s4096', 'n30', './main'], inputs, { oursTurns: [REF, OURS, REF, OURS] });
});

t.test('an outage in the middle of a processor run', needReference('multilog'), async (t) => {
  compare(t, ['s4096', '!cat', './main'], [makeInput(100, 11), makeInput(100, 12), makeInput(100, 13)], {
    between: (dir) => {
      const d = path.join(dir, 'main');
      // A crash after previous was processed (processed has mode +x) ...
      fs.writeFileSync(path.join(d, 'previous'), 'old previous\n');
      fs.writeFileSync(path.join(d, 'processed'), 'processed output\n');
      fs.chmodSync(path.join(d, 'processed'), 0o744);
      fs.writeFileSync(path.join(d, 'newstate'), 'stale\n');
      fs.chmodSync(path.join(d, 'current'), 0o644);
    },
  });
  compare(t, ['s4096', '!cat', './main'], [makeInput(100, 14), makeInput(100, 15)], {
    between: (dir) => {
      const d = path.join(dir, 'main');
      // ... and one before it was (processed without +x is thrown away).
      fs.writeFileSync(path.join(d, 'previous'), 'unprocessed previous\n');
      fs.writeFileSync(path.join(d, 'processed'), 'half done\n');
      fs.chmodSync(path.join(d, 'current'), 0o644);
    },
  });
});

t.test('processor: output replaces the old file, fd 4/5 carry state', needReference('multilog'), async (t) => {
  const proc = '!ls >&2; tr a-z A-Z; echo "run $(($(cat <&4 | wc -l) + 1))" >&5; cat <&4 >&5';
  compare(t, ['s4096', 'n4', proc, './main'], [makeInput(1000, 16)]);
});

t.test('a failing processor is warned about and run again', needReference('multilog'), async (t) => {
  // Fails once (leaving a flag beside the log directory), then works.
  const proc = '!if test -e ../flag; then cat; else touch ../flag; echo oops >&2; exit 3; fi';
  compare(t, ['s4096', proc, './main'], [Buffer.from(Array.from({ length: 700 }, (_, i) => `${i}\n`).join(''))]);
});

t.test('script parsing: clamps, defaults, ignored actions', needReference('multilog'), async (t) => {
  const input = makeInput(3000, 17);
  compare(t, ['s1', 'n0', './small', 's', 'n', './dflt', 'xyz', '', 'T', 's99999999999999999999999', './big'], [input]);
  compare(t, ['s4096x', 'n3junk', 'e', 't', './main'], [input]); // t not first: no timestamps
});

t.test('fatal errors before reading', needReference('multilog'), async (t) => {
  const box = compare(t, ['./main', './not/there'], [Buffer.from('a\n')]);
  t.equal(run(OURS, ['./x'], box.ours, Buffer.alloc(0)).status, 0, 'empty input is fine');
  fs.writeFileSync(path.join(box.ours, 'afile'), '');
  fs.writeFileSync(path.join(box.ref, 'afile'), '');
  compare(t, ['./afile/x'], [Buffer.from('a\n')]);
  compare(t, ['=/nonexistent/status'], [Buffer.from('a\n')]);
  compare(t, ['./d', './d'], [Buffer.from('a\n')]); // one dir twice: the second lock fails
});

t.test('the lock excludes the reference multilog and ours both ways', needReference('multilog'), async (t) => {
  const box = sandbox(t);
  // The last case takes the lock through flock(1), without the native addon.
  for (const [holder, other, env] of [[REF, OURS, {}], [OURS, REF, {}], [OURS, REF, { UCSPI_NO_NATIVE: '1' }]] as const) {
    const dir = fs.mkdtempSync(path.join(box.ours, 'l'));
    const h = spawn(holder, ['./main'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      // Wait (bounded) until the holder has created its state file.
      for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, 'main', 'state')); i++) await sleep(25);
      const r = run(other, ['./main'], dir, Buffer.from('x\n'));
      t.equal(r.status, 111, `${other} refused while ${holder} holds the lock`);
      t.equal(r.stderr, 'multilog: fatal: unable to lock directory ./main: temporary failure\n');
    } finally {
      h.stdin!.end();
      await new Promise((r) => { h.on('exit', r); setTimeout(() => { h.kill('SIGKILL'); r(null); }, 10000); });
    }
  }
});

// The line loop takes whole reads in one piece while every log is far
// from its size limit and line by line near it; these cases are where the
// two meet. Input from a file: both read it in the same 1024-byte pieces
// (ours in bigger chunks, cut into those).
const BATCH_SCRIPTS: string[][] = [
  ['s4096', 'n4', './main'],
  ['t', 's4096', 'n4', './main'],
  ['-*', '+*a*', '+* x*', 's4096', 'n4', './main'],
  ['t', '-*r*', 's4096', 'n3', './a', '+*', '-*q*', 's5000', 'n3', './b', 's9000', './c'], // t: no hex digit in a pattern
  ['+*', '-*1*', 's4096', 'n3', './a', '-*', '+*1*', './b'],
];

function lines(lens: number[], last = '\n'): Buffer {
  return Buffer.from(lens.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n)).join('\n') + last);
}

t.test('batched reads: a line split across reads, across chunks, at EOF', needReference('multilog'), async (t) => {
  // Lines of 100 bytes cross every 1024-byte read; one of 70000 bytes
  // crosses ours (64 kB) as well; the input ends inside a line, short or
  // past 1000 bytes.
  const inputs = [
    lines(Array.from({ length: 300 }, () => 99)),
    lines([...Array.from({ length: 50 }, () => 99), 70000, ...Array.from({ length: 200 }, () => 99)]),
    lines(Array.from({ length: 200 }, () => 99), 'partial'),
    lines(Array.from({ length: 200 }, () => 99), 'z'.repeat(1500)),
    lines(Array.from({ length: 10 }, () => 1023), 'y'.repeat(1024 - 10)), // ends exactly at a read
  ];
  for (const args of BATCH_SCRIPTS)
    for (const input of inputs) compare(t, args, [input], { labels: true });
});

t.test('batched reads: lines that fill current to exactly s bytes', needReference('multilog'), async (t) => {
  // 4096 bytes is 64 lines of 64, 32 of 128 ..., so current can end on
  // the limit itself; with t (26 more bytes a line) other widths do.
  for (const width of [63, 127, 255, 511, 1023, 37, 101]) {
    const input = lines(Array.from({ length: 20000 / (width + 1) + 200 }, () => width));
    compare(t, ['s4096', 'n3', './main'], [input]);
    compare(t, ['t', 's4096', 'n3', './main'], [input], { labels: true });
  }
});

t.test('batched reads: lines around the 1000-byte window inside one read', needReference('multilog'), async (t) => {
  // Within one read: a line the actions see whole, one cut at 1000 bytes
  // (974 with t), a newline exactly at the cut, one just past it.
  const lens = [0, 973, 974, 975, 999, 1000, 1001, 0, 5, 1022, 1023, 0, 2000, 3];
  const input = lines([...lens, ...lens.reverse(), ...Array.from({ length: 100 }, (_, i) => (i * 37) % 1100)]);
  for (const args of BATCH_SCRIPTS) compare(t, args, [input], { labels: true });
  compare(t, ['t', '-*', '+*q*', './main'], [input], { labels: true }); // default size: all of it far from the limit; t: no hex digit in a pattern (the label is matched too)
});

t.test('batched reads: random lines and scripts', needReference('multilog'), async (t) => {
  for (let seed = 100; seed < 104; seed++) {
    const r = rng(seed);
    const lens = Array.from({ length: 1500 }, () => {
      const x = r();
      return x < 0.6 ? Math.floor(r() * 80) : x < 0.9 ? Math.floor(r() * 600) : x < 0.99 ? 900 + Math.floor(r() * 200) : Math.floor(r() * 5000);
    });
    const input = Buffer.concat([makeInput(500, seed), lines(lens, r() < 0.5 ? '\n' : 'tail')]);
    compare(t, BATCH_SCRIPTS[seed % BATCH_SCRIPTS.length], [input], { labels: true });
    compare(t, ['s4096', 'n4', './main'], [input]);
  }
});

t.test('batched reads: the actions see the first 1000 bytes and no more', needReference('multilog'), async (t) => {
  // A Q just inside or just past what the patterns see (974 bytes after
  // the stamp with t), in lines that start at various places in a read.
  const parts: string[] = [];
  for (const skip of [0, 50, 500, 1000])
    for (const n of [972, 973, 974, 975, 998, 999, 1000, 1001]) parts.push('x'.repeat(skip), 'a'.repeat(n) + 'Q' + 'b'.repeat(50));
  const input = Buffer.from(parts.join('\n') + '\n' + 'c'.repeat(999) + 'Q' + 'partial');
  for (const args of [['-*Q*', './main'], ['t', '-*Q*', './main'], ['-*', '+*Q*', 's4096', './main'], ['t', '-*', '+*Q*', './main']])
    compare(t, args, [input], { labels: true });
});
