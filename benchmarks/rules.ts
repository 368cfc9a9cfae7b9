// tcprules and the rules lookup, measured: one million generated classic
// rules compiled by ours and by /usr/bin/tcprules in the same run (wall time,
// median of 3, outputs must be byte-identical), then the median time of one
// connection decision (RulesCdbSource.decide) on that CDB, every client a
// new address, and on the same rules plus CIDR rules of every length.
//   node dist/benchmarks/rules.js        prints a table
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RulesCdbSource } from '../src/rules/source';
import { compileRules } from '../src/rules/compile';
import { median } from './table';

export interface BenchRow { what: string; ours: number; ref: number | null; unit: string }

const REF = '/usr/bin/tcprules';
const OURS = path.join(__dirname, '..', '..', 'bin', 'tcprules');
const RULES = 1_000_000;

// ~34 bytes a line: a third denied, the rest allowed with two variables.
function generate(file: string): void {
  const fd = fs.openSync(file, 'w');
  let chunk: string[] = [];
  for (let i = 0; i < RULES; i++) {
    const ip = `${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    chunk.push(i % 3 === 0 ? `${ip}:deny` : `${ip}:allow,RELAYCLIENT="",N="${i % 1000}"`);
    if (chunk.length === 10000) {
      fs.writeSync(fd, chunk.join('\n') + '\n');
      chunk = [];
    }
  }
  fs.writeSync(fd, '=.example.org:deny\n:allow,DEFAULT="1"\n');
  fs.closeSync(fd);
}

function compileTime(bin: string, input: string, cdb: string): number {
  const fd = fs.openSync(input, 'r');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(bin, [cdb, cdb + '.tmp'], { stdio: [fd, 'ignore', 'pipe'], timeout: 60000 });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr}`);
    return dt;
  } finally {
    fs.closeSync(fd);
  }
}

// Median of single decisions, in microseconds, each timed alone (a server
// makes one per connection, not a batch), every client a different address.
function decideTime(src: RulesCdbSource, ips: string[], host?: string): number {
  const times: number[] = [];
  for (const ip of ips) {
    const t0 = process.hrtime.bigint();
    src.decide({ ip, host });
    times.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return median(times.slice(ips.length >> 2)); // the first quarter warms up
}

export async function rulesBench(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulesbench-'));
  try {
    const input = path.join(dir, 'rules.txt');
    generate(input);
    const mb = fs.statSync(input).size / 1e6;
    const ours: number[] = [];
    const ref: number[] = [];
    const haveRef = fs.existsSync(REF);
    for (let i = 0; i < 3; i++) {
      ours.push(compileTime(OURS, input, path.join(dir, 'ours.cdb')));
      if (haveRef) ref.push(compileTime(REF, input, path.join(dir, 'ref.cdb')));
    }
    const cdb = path.join(dir, 'ours.cdb');
    if (haveRef && !fs.readFileSync(cdb).equals(fs.readFileSync(path.join(dir, 'ref.cdb')))) {
      throw new Error('rules bench: our cdb differs from /usr/bin/tcprules\'s');
    }
    const src = new RulesCdbSource(cdb);
    const hits: string[] = [];
    const misses: string[] = [];
    for (let i = 0; i < 8000; i++) {
      const n = (i * 7919) % RULES;
      hits.push(`${10 + (n >>> 24)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
      misses.push(`${172 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.${(i * 37) & 255}`);
    }
    // The same rules plus one CIDR rule of every length (for a net none of
    // the clients is in): now every length must be looked up.
    const withCidr = path.join(dir, 'cidr.txt');
    fs.copyFileSync(input, withCidr);
    fs.appendFileSync(withCidr, Array.from({ length: 32 }, (_, i) => `0.0.0.0/${i + 1}:deny\n`).join(''));
    const cidrCdb = path.join(dir, 'cidr.cdb');
    const fd = fs.openSync(withCidr, 'r');
    try {
      compileRules(fd, cidrCdb, cidrCdb + '.tmp');
    } finally {
      fs.closeSync(fd);
    }
    const cidrSrc = new RulesCdbSource(cidrCdb);
    cidrSrc.decide({ ip: '127.0.0.1' }); // the first decision after a change scans the file
    const cold = (() => {
      const s = new RulesCdbSource(cdb);
      const t0 = process.hrtime.bigint();
      s.decide({ ip: '127.0.0.1' });
      return Number(process.hrtime.bigint() - t0) / 1e3;
    })();
    return [
      { what: `tcprules: compile ${RULES} rules (${mb.toFixed(0)} MB), wall, median of 3, identical cdb`,
        ours: median(ours), ref: haveRef ? median(ref) : null, unit: 's' },
      { what: 'rules cdb: one decision, exact IP rule (median)', ours: decideTime(src, hits), ref: null, unit: 'µs' },
      { what: 'rules cdb: one decision, no specific rule, no CIDR rules in file (median)',
        ours: decideTime(src, misses, 'a.b.c.example.net'), ref: null, unit: 'µs' },
      { what: 'rules cdb: one decision, no specific rule, CIDR rules of all 32 lengths (median)',
        ours: decideTime(cidrSrc, misses.map((ip) => ip.replace(/^172/, '173')), 'a.b.c.example.net'), ref: null, unit: 'µs' },
      { what: 'rules cdb: first decision after the file changed (open + key scan)', ours: cold, ref: null, unit: 'µs' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  rulesBench().then((rows) => {
    for (const r of rows) {
      const ratio = r.ref ? (r.ours / r.ref).toFixed(2) : '-';
      console.log(`${r.what.padEnd(80)} ours ${r.ours.toFixed(3).padStart(9)} ${r.unit}  ref ${r.ref === null ? '-'.padStart(9) : r.ref.toFixed(3).padStart(9)}  ratio ${ratio}`);
    }
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
