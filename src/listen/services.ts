// Port names from /etc/services, as getservbyname(name, "tcp") (or "udp") finds them.
import { readFileSync } from 'node:fs';

/** Pure: the TCP (or proto's) port of name (or alias) in the text of a services file. */
export function findService(text: string, name: string, proto = 'tcp'): number | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(f[1] ?? '');
    if (!m || m[2] !== proto) continue;
    if (f[0] === name || f.slice(2).includes(name)) return Number(m[1]);
  }
  return undefined;
}

/** A decimal port (0..65535) or a service name; undefined when neither. */
export function parsePort(s: string, servicesFile = '/etc/services', proto = 'tcp'): number | undefined {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n <= 65535 ? n : undefined;
  }
  let text: string;
  try {
    text = readFileSync(servicesFile, 'utf8');
  } catch {
    return undefined;
  }
  return findService(text, s, proto);
}
