// The rules both front-door tests (PROXY, socket activation) decide with:
// 127.0.0.5 allowed with GREETING, 127.0.0.9 denied, the rest allowed; as a
// tcpsvd peers directory and as a tcpserver rules cdb, made under dir.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ours } from './common';

export function peersDir(dir: string): string {
  const d = mkdtempSync(path.join(dir, 'peers-'));
  writeFileSync(path.join(d, '127.0.0.5'), '+GREETING=hello-five\n');
  writeFileSync(path.join(d, '127.0.0.9'), '');
  chmodSync(path.join(d, '127.0.0.9'), 0o000); // deny
  return d;
}

export function rulesCdb(dir: string): string {
  const d = mkdtempSync(path.join(dir, 'rules-'));
  const cdb = path.join(d, 'rules.cdb');
  const r = spawnSync(ours('tcprules'), [cdb, cdb + '.tmp'],
    { input: '127.0.0.9:deny\n127.0.0.5:allow,GREETING="hello-five"\n:allow\n', timeout: 10000 });
  if (r.status !== 0) throw new Error(`tcprules failed: ${r.stderr}`);
  return cdb;
}
