// Every command of ours and its reference with the same bad or odd options:
// same stderr (sgetopt's complaint, the usage), same stdout, same exit code.
// Run in an empty directory with stdin empty, so that a word taken for a
// file or directory name meets nothing.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { needReference, ours, reference } from './helpers/common';

const CASES: Record<string, string[][]> = {
  tcpserver: [[], ['-z'], ['-c'], ['-vvz', '0', '0', 'true'], ['--'], ['-c5'], ['-Hz', 'x'], ['-x'], ['-c', '5', '-z'], ['-'], ['0', '0']],
  tcpsvd: [[], ['-z'], ['-c'], ['-vvz', '0', '0', 'true'], ['--'], ['-c5'], ['-hz', 'x'], ['-x'], ['-c', '0', '-z'], ['-'], ['0', '0']],
  'ipsvd-cdb': [[], ['-z'], ['a', 'b']],
  svc: [['-z', 'x'], ['-uz', 'x'], ['-v'], ['-du'], ['--'], ['-', 'x']],
  tcprules: [[], ['-z'], ['--']],
  tcprulescheck: [[]],
  supervise: [[]],
  svok: [[]],
  svscan: [['-z']],
  svstat: [['-z'], ['--']],
  multilog: [['-z']],
  tai64nlocal: [['-z']],
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'options-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const [cmd, cases] of Object.entries(CASES)) {
  t.test(cmd, needReference(cmd), async (t) => {
    for (const args of cases) {
      const run = (file: string) => {
        // A fresh empty directory per run: nothing either one leaves behind counts.
        const cwd = fs.mkdtempSync(path.join(dir, 'run-'));
        // The reference under its bare name, as from $PATH: ipsvd prints argv[0] in its usage.
        const r = spawnSync(file, args, { cwd, argv0: cmd, input: '', encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL' });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      const want = run(reference(cmd));
      const got = run(ours(cmd));
      t.same(got, want, `${cmd} ${args.join(' ')}`);
    }
  });
}
