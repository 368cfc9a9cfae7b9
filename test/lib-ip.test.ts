// src/lib/ip: each IPv6 text form against an independent oracle: ipv6Env
// against glibc's inet_ntop (through python3), ipv6Name against ipaddr.js's
// RFC 5952 form, ipv6RulesKey by its definition; parseIPv6 inverts them.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as ipaddr from 'ipaddr.js';
import { ipv6Env, ipv6Name, ipv6RulesKey, parseIPv6 } from '../src/lib/ip';

// Addresses with zero runs of every length and place, and the special forms.
function samples(): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 400; i++) {
    const b = new Uint8Array(16);
    for (let g = 0; g < 8; g++) {
      if (rnd() < 0.5) continue;
      const w = rnd() < 0.2 ? 1 : Math.floor(rnd() * 65536);
      b[2 * g] = w >> 8;
      b[2 * g + 1] = w & 255;
    }
    out.push(b);
  }
  const fixed = ['::', '::1', '::2', '::1.2.3.4', '::ffff:1.2.3.4', '::ffff:0:1.2.3.4', '1::', '2001:db8::1', '0:0:1::', '::ffff'];
  for (const s of fixed) out.push(Uint8Array.from(ipaddr.IPv6.parse(s).toByteArray()));
  return out;
}

const all = samples();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const py = spawnSync('python3', ['-c', `
import socket, sys
for line in sys.stdin:
    print(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(line.strip())))
`], { input: all.map(hex).join('\n') + '\n', encoding: 'utf8', timeout: 20000 });

t.test('ipv6Env is inet_ntop', { skip: py.status === 0 ? false : 'python3 absent' }, async (t) => {
  const want = py.stdout.trim().split('\n');
  t.equal(want.length, all.length);
  let bad = 0;
  all.forEach((b, i) => { if (ipv6Env(b, 0) !== want[i]) { bad++; t.equal(ipv6Env(b, 0), want[i], hex(b)); } });
  t.equal(bad, 0, `${all.length} addresses`);
});

t.test('ipv6Name is RFC 5952', async (t) => {
  let bad = 0;
  for (const b of all) {
    const want = (ipaddr.fromByteArray(Array.from(b)) as ipaddr.IPv6).toRFC5952String();
    if (ipv6Name(b) !== want) { bad++; t.equal(ipv6Name(b), want, hex(b)); }
  }
  t.equal(bad, 0, `${all.length} addresses`);
});

t.test('ipv6RulesKey and parseIPv6 round trips', async (t) => {
  for (const b of all) {
    const key = ipv6RulesKey(b);
    t.match(key, /^([0-9A-F]{4}:){7}[0-9A-F]{4}$/);
    t.same(parseIPv6(key), b);
    t.same(parseIPv6(ipv6Env(b, 0)), b);
    t.same(parseIPv6(ipv6Name(b)), b);
  }
  for (const bad of ['', ':', '1:::2', '1::2::3', '12345::', '::1.2.3', '1:2:3:4:5:6:7:8:9', 'g::']) t.equal(parseIPv6(bad), null, bad);
});
