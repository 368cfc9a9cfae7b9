// prog's environment per tcp-environ(5). The server's own environment, minus
// every variable the connection defines, is turned into a template once; each
// connection appends its own values, so a stale TCPREMOTEHOST of the server
// never leaks to prog when the connection has none.
import type { Decision } from '../decide/decision';
import { decimal } from '../decimal';
import { toBytes } from '../lib/bytes';

const CONN_VARS = [
  'PROTO', 'TCPLOCALIP', 'TCPLOCALPORT', 'TCPLOCALHOST',
  'TCPREMOTEIP', 'TCPREMOTEPORT', 'TCPREMOTEHOST', 'TCPREMOTEINFO',
  'TCP6LOCALIP', 'TCP6LOCALPORT', 'TCP6LOCALHOST',
  'TCP6REMOTEIP', 'TCP6REMOTEPORT', 'TCP6REMOTEHOST', 'TCP6INTERFACE',
];

export interface ConnEnv {
  v6: boolean;
  localIp: string;
  localPort: number;
  localHost?: string;
  remoteIp: string;
  remotePort: number;
  remoteHost?: string;
  remoteInfo?: string;
}

/** The server environment as NAME=value strings, without the names in drop. */
export function envTemplate(env: NodeJS.ProcessEnv, ucspi: boolean, concurrency: boolean): string[] {
  const drop = new Set(ucspi ? CONN_VARS : []);
  // ipsvd sets TCPCONCURRENCY with the other connection variables: not with -E.
  if (ucspi && concurrency) drop.add('TCPCONCURRENCY');
  const out: string[] = [];
  for (const k of Object.keys(env)) {
    const v = env[k];
    if (v !== undefined && !drop.has(k)) out.push(k + '=' + v);
  }
  return out;
}

/**
 * Appends the connection's variables (IPv6 also gets ucspi-tcp6's TCP6* names).
 * localPortText: tcpsvd's TCPLOCALPORT, the port argument as given (ipsvd copies it).
 */
export function pushConnEnv(out: string[], c: ConnEnv, localPortText?: string): void {
  const lport = localPortText ?? decimal(c.localPort), rport = decimal(c.remotePort);
  out.push(c.v6 ? 'PROTO=TCP6' : 'PROTO=TCP', 'TCPLOCALIP=' + c.localIp, 'TCPLOCALPORT=' + lport);
  // Byte strings for the launcher: -l name is text (TCPREMOTEINFO already is bytes).
  const lhost = c.localHost === undefined ? undefined : toBytes(c.localHost);
  if (lhost !== undefined) out.push('TCPLOCALHOST=' + lhost);
  out.push('TCPREMOTEIP=' + c.remoteIp, 'TCPREMOTEPORT=' + rport);
  if (c.remoteHost !== undefined) out.push('TCPREMOTEHOST=' + c.remoteHost);
  if (c.remoteInfo !== undefined) out.push('TCPREMOTEINFO=' + c.remoteInfo);
  if (c.v6) {
    out.push('TCP6LOCALIP=' + c.localIp, 'TCP6LOCALPORT=' + lport);
    if (lhost !== undefined) out.push('TCP6LOCALHOST=' + lhost);
    out.push('TCP6REMOTEIP=' + c.remoteIp, 'TCP6REMOTEPORT=' + rport);
    if (c.remoteHost !== undefined) out.push('TCP6REMOTEHOST=' + c.remoteHost);
  }
}

/** Rule variables come last and win; unset names are removed whatever set them. */
export function applyRules(env: string[], d: Decision): string[] {
  if (d.set.length === 0 && d.unset.length === 0) return env;
  const names = new Set<string>(d.unset);
  for (const [k] of d.set) names.add(k);
  const out = env.filter((kv) => !names.has(kv.slice(0, kv.indexOf('='))));
  const unset = new Set(d.unset);
  for (const [k, v] of d.set) if (!unset.has(k)) out.push(k + '=' + v);
  return out;
}
