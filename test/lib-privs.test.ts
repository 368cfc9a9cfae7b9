// src/lib/privs: groups, gid, uid in that order; a failure names its step.
// Run in a child (built tree: npm run build), since the drop is for good.
import t from 'tap';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, isRoot } from './helpers/common';

const LIB = path.join(ROOT, 'dist', 'src', 'lib', 'privs.js');
const child = (code: string) => spawnSync(process.execPath, ['-e',
  `const { dropPrivileges } = require(${JSON.stringify(LIB)});
   const fail = (step, e) => { console.log('fail ' + step + ' ' + e.code); process.exit(111); };
   ${code}`], { encoding: 'utf8', timeout: 20000 });

const root = isRoot;

t.test('as root: all three, in order', { skip: root ? false : 'needs root' }, async (t) => {
  const r = child(`dropPrivileges([65534, 4], 65534, fail);
    console.log([process.getuid(), process.getgid(), process.getgroups().sort((a, b) => a - b).join(',')].join(' '));`);
  t.equal(r.stdout, '65534 65534 4,65534\n');
});

t.test('uid only keeps the groups', { skip: root ? false : 'needs root' }, async (t) => {
  const r = child(`const g = process.getgid(); dropPrivileges(undefined, 65534, fail);
    console.log(process.getuid() + ' ' + (process.getgid() === g));`);
  t.equal(r.stdout, '65534 true\n');
});

t.test('not root: the groups step fails first', { skip: root ? 'runs as root' : false }, async (t) => {
  const r = child(`dropPrivileges([0], 0, fail);`);
  t.equal(r.stdout, 'fail groups EPERM\n');
  t.equal(r.status, 111);
});

t.test('after the uid is gone, nothing comes back', { skip: root ? false : 'needs root' }, async (t) => {
  const r = child(`dropPrivileges([65534], 65534, fail); dropPrivileges([0], 0, fail);`);
  t.equal(r.stdout, 'fail groups EPERM\n');
});
