// The translation of hosts.allow/hosts.deny into a peers directory, checked
// against a first-match evaluation written here from hosts_access(5): random
// rule tables over a small address space (so prefixes nest and collide), the
// translated entries written as a peers directory, and every address decided
// by the server's own lookup (src/decide). Then the forms that must be refused.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openRuleSource } from '../src/decide/index';
import type { Decision, HostResolver } from '../src/decide/decision';
import { parseHostsFile, type Rule } from '../src/inetconv/hosts';
import { translate } from '../src/inetconv/translate';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'inetconv-translate-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seed = 777;
const rnd = (k: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % k;
};

interface Net { net: number; len: number; text: string }
type Verdict = string; // 'deny', 'allow:VAR=value,...', 'twist:cmd'

const quad = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const maskOf = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
const inNet = (ip: number, n: Net) => ((ip & maskOf(n.len)) >>> 0) === n.net;

// An address of 10.{0,1}.{0..3}.{0..15}: small enough that random prefixes overlap.
const randomIp = () => ((10 << 24) | (rnd(2) << 16) | (rnd(4) << 8) | rnd(16)) >>> 0;

function randomNet(): Net {
  const ip = randomIp();
  switch (rnd(5)) {
    case 0: { const len = [8, 16, 24][rnd(3)]; const n = (ip & maskOf(len)) >>> 0; return { net: n, len, text: quad(n).split('.').slice(0, len / 8).join('.') + '.' }; }
    case 1: return { net: ip, len: 32, text: quad(ip) };
    case 2: { const len = 20 + rnd(12); const n = (ip & maskOf(len)) >>> 0; return { net: n, len, text: `${quad(n)}/${len}` }; }
    case 3: { const len = 22 + rnd(10); const n = (ip & maskOf(len)) >>> 0; return { net: n, len, text: `${quad(n)}/${quad(maskOf(len))}` }; }
    default: return { net: 0, len: 0, text: 'ALL' };
  }
}

interface GenRule { table: 'allow' | 'deny'; nets: Net[]; except: Net[]; opts: string[]; line: string }

function randomRule(table: 'allow' | 'deny'): GenRule {
  const nets = Array.from({ length: 1 + rnd(2) }, randomNet);
  const except = rnd(3) === 0 ? [randomNet()] : [];
  const opts = [[], [], ['deny'], ['allow'], ['setenv V v' + rnd(3)], ['setenv V x', 'allow'], ['twist /bin/echo t' + rnd(2)]][rnd(7)];
  const clients = nets.map((n) => n.text).join(', ') + (except.length ? ' EXCEPT ' + except.map((n) => n.text).join(' ') : '');
  return { table, nets, except, opts, line: `svc: ${clients}${opts.map((o) => ` : ${o}`).join('')}` };
}

// hosts_access(5) read directly: the first rule whose list matches decides.
function firstMatch(rules: GenRule[], ip: number): Verdict {
  for (const r of rules) {
    if (!r.nets.some((n) => inNet(ip, n)) || r.except.some((n) => inNet(ip, n))) continue;
    let action: string = r.table;
    const env: string[] = [];
    for (const o of r.opts) {
      if (o === 'allow' || o === 'deny') action = o;
      else if (o.startsWith('setenv ')) { const [, k, v] = o.split(' '); env.push(`${k}=${v}`); }
      else if (o.startsWith('twist ')) return `twist:${o.slice(6)}`;
    }
    return action === 'deny' ? 'deny' : `allow:${env.join(',')}`;
  }
  return 'allow:';
}

function verdictOf(d: Decision): Verdict {
  if (d.action === 'deny') return 'deny';
  if (d.shell !== undefined) return `twist:${d.shell.split('\n').filter((l) => l !== '' && !l.startsWith('exec 2>&1')).join(';')}`;
  return `allow:${d.set.map(([k, v]) => `${k}=${v}`).join(',')}`;
}

const noDns: HostResolver = async () => [];

function writePeers(dir: string, entries: Map<string, { mode: number; content: string }>): void {
  fs.mkdirSync(dir);
  for (const [n, e] of entries) {
    fs.writeFileSync(path.join(dir, n), e.content);
    fs.chmodSync(path.join(dir, n), e.mode);
  }
}

t.test('random rule tables: the peers lookup decides as first match does', async (t) => {
  let compared = 0, tables = 0;
  const kinds = new Set<string>();
  for (let round = 0; round < 150; round++) {
    const gen = [...Array.from({ length: 1 + rnd(4) }, () => randomRule('allow')), ...Array.from({ length: rnd(3) }, () => randomRule('deny'))];
    const allowText = gen.filter((r) => r.table === 'allow').map((r) => r.line).join('\n') + '\n';
    const denyText = gen.filter((r) => r.table === 'deny').map((r) => r.line).join('\n') + '\n';
    const rules: Rule[] = [
      ...parseHostsFile(allowText, 'hosts.allow', 'allow', () => t.fail('bad line')),
      ...parseHostsFile(denyText, 'hosts.deny', 'deny', () => t.fail('bad line')),
    ];
    const tr = translate(rules);
    t.same(tr.refused, [], `round ${round}: address rules are always expressible`);
    const dir = path.join(tmp, `r${round}`);
    writePeers(dir, tr.entries);
    const src = openRuleSource({ kind: 'peers-dir', path: dir, warn: (m) => t.fail(m) });
    for (let k = 0; k < 40; k++) {
      const ip = randomIp();
      const want = firstMatch(gen, ip);
      const got = verdictOf(await src.decide({ ip: quad(ip) }, noDns));
      if (got !== want) {
        t.equal(got, want, `${quad(ip)} with\n${allowText}--\n${denyText}`);
        return;
      }
      compared++;
      kinds.add(want.replace(/:.+/, ':…'));
    }
    tables++;
  }
  t.equal(tables, 150);
  t.same([...kinds].sort(), ['allow:', 'allow:…', 'deny', 'twist:…'], 'every kind of decision was compared');
  t.equal(compared, 150 * 40);
});

const refusedOf = (allow: string, deny = '') => translate([
  ...parseHostsFile(allow, 'hosts.allow', 'allow', () => {}),
  ...parseHostsFile(deny, 'hosts.deny', 'deny', () => {}),
]).refused;

t.test('what a peers directory cannot say is refused', async (t) => {
  t.match(refusedOf('svc: LOCAL\n', 'svc: ALL\n'), [/LOCAL/], 'LOCAL against the default');
  t.match(refusedOf('svc: .example.org\nsvc: 10.0.0. : deny\n'), [/10\.0\.0\.0\/24.*depends on the host name/],
    'a name rule before an address rule');
  t.match(refusedOf('svc: .example.org\n', 'svc: example.org\n'), [/example\.org and names under it/],
    'a domain and its own name apart');
  const exact = translate(parseHostsFile('svc: a.example\n', 'hosts.allow', 'allow', () => {})
    .concat(parseHostsFile('svc: ALL\n', 'hosts.deny', 'deny', () => {})));
  t.same(exact.refused, []);
  t.match(exact.caveats, [/a\.example also covers the names under it/], 'an exact name: listed as wider');
  t.same(refusedOf('svc: 10.0.0.\nsvc: .example.org\n', 'svc: ALL\n'), [], 'an address rule before a name rule is fine');
});

t.test('IPv6 prefixes are CIDR names, full addresses their RFC 5952 text', async (t) => {
  const tr = translate(parseHostsFile('svc: [2001:DB8::]/32 : deny\nsvc: [2001:db8:0:0::1]\n', 'hosts.allow', 'allow', () => {}));
  t.same(tr.refused, []);
  t.same([...tr.entries].map(([n, e]) => [n, e.mode]).sort(), [['2001:db8::1', 0], ['2001:db8::_32', 0]],
    'first match: the address inside the denied /32 is denied too');
});

t.test('names: entries for domains, only where they change the decision', async (t) => {
  const rules = parseHostsFile('svc: .lab.example\nsvc: .example : deny\n', 'hosts.allow', 'allow', () => {});
  const tr = translate(rules);
  t.same(tr.refused, []);
  t.ok(tr.needHost);
  t.same([...tr.entries.keys()].sort(), ['example', 'lab.example']);
  t.equal(tr.entries.get('example')!.mode, 0, 'deny entry: no permissions');
  t.equal(tr.entries.get('lab.example')!.mode, 0o644);
  const none = translate(parseHostsFile('svc: .example : allow\n', 'hosts.allow', 'allow', () => {}));
  t.same([...none.entries.keys()], [], 'an allow equal to the default needs no entry');
  t.notOk(none.needHost, 'and no name lookups');
});

t.test('patterns that are listed, not guessed', async (t) => {
  const rules = parseHostsFile([
    'svc: @trusted', 'svc: KNOWN', 'svc: /etc/trusted', 'svc: user@10.0.0.1', 'svc: 10.0.*',
    'svc: 10.0.0.0/255.0.255.0', 'svc@10.0.0.1: ALL', 'svc: 10.0.0.1 : twist /bin/echo %a',
    'svc: 10.0.0.1 : spawn /bin/echo %a',
  ].join('\n'), 'hosts.allow', 'allow', () => {});
  const bad = rules.map((r) => [...r.clients.pats.filter((p) => p.k === 'bad').map((p) => (p as { reason: string }).reason),
    ...r.daemons.pats.filter((p) => p.k === 'bad').map((p) => (p as { reason: string }).reason), ...r.refuse,
    ...r.options.filter((o) => o.k === 'ignored').map((o) => (o as { reason: string }).reason)]);
  t.match(bad, [[/netgroup/], [/KNOWN/], [/pattern files/], [/ident/], [/wildcards/], [/mask/], [/daemon@host/], [/% expansions/], [/spawn/]]);
  const none = parseHostsFile('svc: 10.0.0.1/255.255.255.0\n', 'f', 'allow', () => {});
  t.equal(none[0].clients.pats[0].k, 'none', 'a net with host bits never matches, as in tcpd');
});
