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
  // udpsvd has no long option: "--help" and "--x" end the options, as sgetopt reads them.
  udpsvd: [[], ['-z'], ['--help'], ['-v', '--x', '0'], ['-c']],
  'ipsvd-cdb': [[], ['-z'], ['a', 'b']],
  // Without long options a word starting with "--" ends the options (sgetopt), whoever wrote the tool.
  softlimit: [['--x']],
  setlock: [['--x']],
  chpst: [['--x']],
  svlogd: [['--x']],
  sv: [['--x']],
  svc: [['-z', 'x'], ['-uz', 'x'], ['-v'], ['-du'], ['--'], ['-', 'x']],
  tcprules: [[], ['-z'], ['--'], ['--help']],
  tcprulescheck: [[]],
  supervise: [[]],
  svok: [[]],
  svscan: [['-z']],
  svstat: [['-z'], ['--']],
  multilog: [['-z']],
  tai64nlocal: [['-z']],
  tcpclient: [[], ['-z'], ['-i'], ['--'], ['-q'], ['-qz', '0'], ['-i', 'x', '0', '0', 'true'], ['-T5+', '0']],
  recordio: [[]],
  fixcrio: [[]],
  argv0: [[], ['x']],
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

// Our long options (none of them the originals'): a bad value, an unknown
// long name or one without its value exits 100, the usage code, even where
// the original's usage exits 111 (tcpsvd), and says which option it was.
t.test('bad long option values: exit 100, the option named', async (t) => {
  const BAD: Array<[string[], RegExp]> = [
    [['--rate=x'], /bad --rate value: "x"/], [['--rate', '0/1'], /bad --rate value: "0\/1"/],
    [['--proxy=x'], /bad --proxy value: "x"/], [['--proxy=10.0.0.0/8,10.0.0.0/33'], /bad --proxy value/],
    [['--proxy-timeout=0'], /bad --proxy-timeout value: "0"/], [['--proxy-timeout=x'], /bad --proxy-timeout value/],
    [['--prefix=33'], /bad --prefix value/], [['--prefix4=x'], /bad --prefix4 value/], [['--prefix6=129'], /bad --prefix6 value/],
    [['--rate-table=1'], /bad --rate-table value/], [['--status='], /bad --status value/],
    [['--status-interval=1'], /bad --status-interval value/], [['--metrics=x'], /bad --metrics value/],
    [['--prefix=24'], /--prefix needs/], [['--no-such'], /illegal option -- -no-such/],
    [['--log-json=1'], /illegal option -- -log-json=1/],
  ];
  for (const cmd of ['tcpsvd', 'tcpserver']) {
    const cases: Array<[string[], RegExp]> = cmd === 'tcpserver' ? [...BAD, [['--per-host=x'], /bad --per-host value: "x"/]] : BAD;
    for (const [opts, said] of cases) {
      const cwd = fs.mkdtempSync(path.join(dir, 'run-'));
      const r = spawnSync(ours(cmd), [...opts, '127.0.0.1', '0', 'true'], { cwd, input: '', encoding: 'utf8', timeout: 15000, killSignal: 'SIGKILL' });
      t.equal(r.status, 100, `${cmd} ${opts.join(' ')}: exit 100`);
      t.match(r.stderr.split('\n')[0], said, `${cmd} ${opts.join(' ')}: said so`);
    }
    // A value missing at the end of the line.
    const r = spawnSync(ours(cmd), ['--rate'], { input: '', encoding: 'utf8', timeout: 15000, killSignal: 'SIGKILL' });
    t.equal(r.status, 100, `${cmd} --rate (no value): exit 100`);
    t.match(r.stderr, /option requires an argument -- -rate/);
  }
});

// --help is ours: the original's usage, then every long option the command
// takes (read from the option tables, so a new one cannot be left out), on
// standard output, exit 0; the man page's synopsis names each too. -V (and
// tcpserver's --version) say whether the native addon is in use, and its file.
t.test('--help lists every long option; -V names the addon', async (t) => {
  const { FRONT_DOOR_LONGS } = await import('../src/engine/frontdoor');
  const { TLS_LONGS } = await import('../src/cmd/tcpsvd');
  const longs: Record<string, string[]> = {
    tcpsvd: [...Object.keys(FRONT_DOOR_LONGS), ...Object.keys(TLS_LONGS), 'help'],
    tcpserver: [...Object.keys(FRONT_DOOR_LONGS), 'per-host', 'help', 'version'],
  };
  const man: Record<string, string> = { tcpsvd: 'man/tcpsvd.8', tcpserver: 'man/tcpserver.1' };
  const root = path.resolve(__dirname, '..');
  for (const [cmd, names] of Object.entries(longs)) {
    const r = spawnSync(ours(cmd), ['--help'], { input: '', encoding: 'utf8', timeout: 15000, killSignal: 'SIGKILL' });
    t.equal(r.status, 0, `${cmd} --help: exit 0`);
    t.equal(r.stderr, '', `${cmd} --help: nothing on stderr`);
    t.match(r.stdout, /^usage: /, `${cmd} --help: the usage first`);
    const synopsis = fs.readFileSync(path.join(root, man[cmd]), 'utf8').split('.SH DESCRIPTION')[0].replace(/\\-/g, '-');
    for (const n of names) {
      t.match(r.stdout, new RegExp(`^  --${n}\\b`, 'm'), `${cmd} --help names --${n}`);
      t.ok(synopsis.includes(`--${n}`), `${cmd}'s man page synopsis names --${n}`);
    }
    t.match(r.stdout, /^native addon: in use, loaded from \/.*\/build\/Release\/ucspi\.node$/m, `${cmd} --help: the addon`);
  }
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp, number]> = [
    ['tcpsvd', ['--help'], {}, /^native addon: in use, loaded from \/.*ucspi\.node$/m, 0],
    ['tcpsvd', ['--help'], { UCSPI_LAUNCHER: 'spawn' }, /^native addon: not in use \(UCSPI_LAUNCHER=spawn\)/m, 0],
    ['tcpsvd', ['--help'], { UCSPI_NO_NATIVE: '1' }, /^native addon: not in use \(UCSPI_NO_NATIVE is set\)/m, 0],
    ['tcpserver', ['--version'], {}, /^native addon: in use, loaded from \/.*ucspi\.node$/m, 0],
    ['tcpserver', ['--version'], { UCSPI_NO_NATIVE: '1' }, /^native addon: not in use \(UCSPI_NO_NATIVE is set\)/m, 0],
  ];
  // -V: ipsvd's two lines (its version line, then the usage), exit 111, nothing more.
  for (const cmd of ['tcpsvd', 'udpsvd']) {
    const r = spawnSync(ours(cmd), ['-V'], { input: '', encoding: 'utf8', timeout: 15000, killSignal: 'SIGKILL' });
    t.equal(r.status, 111, `${cmd} -V: exit 111`);
    const lines = r.stderr.split('\n').filter(Boolean);
    t.equal(lines.length, 2, `${cmd} -V: two lines, as ipsvd's`);
    t.match(lines[0], /^\$Id: ucspi-node /, `${cmd} -V: the version line`);
    t.match(lines[1], new RegExp(`^usage: ${cmd} `), `${cmd} -V: then the usage`);
  }
  for (const [cmd, args, env, want, code] of cases) {
    const r = spawnSync(ours(cmd), args, { env: { ...process.env, ...env }, input: '', encoding: 'utf8', timeout: 15000, killSignal: 'SIGKILL' });
    t.equal(r.status, code, `${cmd} ${args.join(' ')} ${JSON.stringify(env)}: exit ${code}`);
    t.match(r.stdout + r.stderr, want, `${cmd} ${args.join(' ')} ${JSON.stringify(env)}: the addon`);
  }
});
