// One entry point from the command line's rule option to a RuleSource:
// tcpserver -x (tcprules cdb), tcpsvd -x (ipsvd-cdb output), tcpsvd -i (directory).
import type { RuleSource } from './decision';
import { RulesCdbSource } from '../rules/source';
import { CdbStore } from '../instruct/cdbstore';
import { DirStore } from '../instruct/dir';
import { InstructSource } from '../instruct/source';

export type SourceSpec = {
  kind: 'rules-cdb' | 'peers-cdb' | 'peers-dir';
  path: string;
  /** tcpsvd -t: expire instruction files not read for this long (peers-dir only; 0 = never). */
  expireSec?: number;
  /** Where ipsvd's warnings go (bad instruction lines and the like); default: stderr as "tcpsvd: warning: ...". */
  warn?: (msg: string) => void;
};

export function openRuleSource(spec: SourceSpec): RuleSource {
  const warn = spec.warn ?? ((msg: string) => { process.stderr.write(`tcpsvd: warning: ${msg}\n`); });
  switch (spec.kind) {
    case 'rules-cdb':
      return new RulesCdbSource(spec.path);
    case 'peers-cdb':
      return new InstructSource(new CdbStore(spec.path), warn);
    case 'peers-dir':
      return new InstructSource(new DirStore(spec.path, spec.expireSec ?? 0, warn), warn);
  }
}
