// One account look-up for every tool that changes user (src/users/): users
// and groups only NSS knows (libnss-extrausers, in a mount namespace of the
// test's own: test/helpers/nss.ts) as Debian's setuidgid, envuidgid and
// runit's chpst find them (getpwnam, getgrnam), with the addon and without it
// (the files, then getent); and the module's answers, getgrouplist's list
// included, the same both ways.
import t from 'tap';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadNative } from '../src/native';
import { ROOT, asRoot, needReference, ours, reference, scratch } from './helpers/common';
import { needExtrausers, nssPrefix } from './helpers/nss';

const PASSWD = 'nssu:x:4343:4343::/nonexistent:/bin/sh\n';
const GROUP = 'nssu:x:4343:\nnssg:x:4344:nssu,nobody\nnssg2:x:4345:nssu\n';
const haveAddon = !!loadNative()?.getpwnam;
const tmp = scratch('users-test');
const env = { PATH: '/usr/bin:/bin' };

/** file args, run inside the namespace: exit code, stdout and stderr. */
function inNs(prefix: string[], file: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(prefix[0], [...prefix.slice(1), file, ...args], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 15000, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('setuidgid, envuidgid, chpst -u and -U: users and groups only NSS knows, as the references', asRoot({
  skip: needReference('setuidgid', 'envuidgid', 'chpst').skip || needExtrausers().skip,
}), async (t) => {
  const prefix = nssPrefix(tmp('chain'), PASSWD, GROUP);
  const show = ['sh', '-c', 'id -u; id -g; id -G; echo "${UID-none} ${GID-none}"'];
  const cases: Array<[string, string[]]> = [
    ['setuidgid', ['nssu', ...show]],
    ['envuidgid', ['nssu', ...show]],
    ['setuidgid', ['nosuch', ...show]],
    ['chpst', ['-u', 'nssu', ...show]],
    ['chpst', ['-u', 'nssu:nssg:nssg2:nogroup', ...show]],
    ['chpst', ['-u', 'nobody:nssg2', ...show]],
    ['chpst', ['-U', 'nssu:nssg', ...show]],
    ['chpst', ['-u', 'nssu:nosuch', ...show]],
  ];
  for (const [tool, args] of cases) {
    const want = inNs(prefix, reference(tool), args);
    const label = `${tool} ${args.slice(0, -show.length).join(' ')}`;
    if (tool === 'setuidgid' && args[0] === 'nssu') t.equal(want.stdout, '4343\n4343\n4343\nnone none\n', `${label}: the reference finds the user`);
    // runit's chpst names itself as its argv[0]; ours is called chpst too.
    // Without the addon ours warns that it runs the child rather than exec it.
    const norm = (s: string) => s.replace(/^\S*chpst:/gm, 'chpst:').replace(/^\S+: warning: cannot exec without the native addon:.*\n/gm, '');
    for (const extra of haveAddon ? [{}, { UCSPI_NO_NATIVE: '1' }] : [{ UCSPI_NO_NATIVE: '1' }]) {
      const got = inNs(prefix, ours(tool), args, extra);
      t.same({ ...got, stderr: norm(got.stderr) }, { ...want, stderr: norm(want.stderr) }, `${label}${extra.UCSPI_NO_NATIVE ? ', getent' : ', the addon'}`);
    }
  }
});

t.test('the module: the addon and getent give the same answers', asRoot({ skip: needExtrausers().skip || (haveAddon ? false : 'the addon is not built') }), async (t) => {
  const prefix = nssPrefix(tmp('module'), PASSWD, GROUP);
  const script = `
    const { systemAccounts } = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'users', 'lookup.js'))});
    const db = systemAccounts();
    const out = {};
    for (const n of ['nssu', 'nobody', 'root', 'nosuch', '', '0', '-x', '+'])
      out['pw ' + n] = db.getpwnam(n) ?? null;
    for (const n of ['nssu', 'nssg', 'nogroup', 'nosuch', '4344', ''])
      out['gr ' + n] = db.getgrnam(n) ?? null;
    for (const [u, g] of [['nssu', 4343], ['nssu', 4345], ['nobody', 65534], ['root', 0], ['nosuch', 7]])
      out['list ' + u + ' ' + g] = db.getgrouplist(u, g);
    process.stdout.write(JSON.stringify(out));`;
  const answers = (extra: NodeJS.ProcessEnv) => {
    const r = inNs(prefix, process.execPath, ['-e', script], extra);
    t.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout || '{}');
  };
  const viaAddon = answers({});
  t.same(answers({ UCSPI_NO_NATIVE: '1' }), viaAddon, 'getent as the addon');
  t.same(viaAddon, {
    'pw nssu': { uid: 4343, gid: 4343 }, 'pw nobody': { uid: 65534, gid: 65534 }, 'pw root': { uid: 0, gid: 0 },
    'pw nosuch': null, 'pw ': null, 'pw 0': null, 'pw -x': null, 'pw +': null,
    'gr nssu': 4343, 'gr nssg': 4344, 'gr nogroup': 65534, 'gr nosuch': null, 'gr 4344': null, 'gr ': null,
    'list nssu 4343': [4343, 4344, 4345], 'list nssu 4345': [4345, 4344], 'list nobody 65534': [65534, 4344],
    'list root 0': [0], 'list nosuch 7': [7],
  }, 'what getpwnam, getgrnam and getgrouplist say');
  // initgroups as id(1) shows it, inside the same namespace.
  t.equal(inNs(prefix, 'id', ['-G', 'nssu']).stdout, '4343 4344 4345\n', 'id -G agrees');
});
