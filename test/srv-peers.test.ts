// srv --peers: the files it writes in a service's peers/ dir, the peers.cdb
// it compiles from them (byte for byte what our ipsvd-cdb and Debian's
// write from the same dir), and what our tcpsvd -x decides with that cdb
// for clients on 127.x.y.z sources.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ours, run, tmp, within } from './helpers/svdir';
import { needReference, reference } from './helpers/common';
import { startServer, talk } from './helpers/net';

const SRV = ours('srv');

function setup(t: Test) {
  const root = tmp(t);
  const srvdir = path.join(root, 'sv');
  const dir = path.join(srvdir, 'sshd');
  fs.mkdirSync(dir, { recursive: true });
  // A service directory is one with a run file: srv acts on nothing else.
  fs.writeFileSync(path.join(dir, 'run'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
  const env = { SVDIR: path.join(root, 'service'), SRVDIR: srvdir };
  return { root, dir, srv: (...a: string[]) => run(SRV, a, root, env) };
}

/** What the client on source address `local` gets from tcpsvd -x cdb in front of a program that prints OPTIONS. */
async function decisions(t: Test, cdb: string, locals: string[]): Promise<Record<string, string>> {
  const s = await startServer(ours('tcpsvd'), ['-x', cdb, '127.0.0.1', '0', 'sh', '-c', 'echo "ok:${OPTIONS-unset}"'],
    { PATH: '/usr/bin:/bin' });
  t.teardown(() => s.stop());
  const out: Record<string, string> = {};
  for (const local of locals) out[local] = await talk(s.port, { local });
  await s.stop();
  return out;
}

async function sameAsCompilers(t: Test, root: string, dir: string) {
  const ourCdb = path.join(root, 'ours.cdb');
  const r = await run(ours('ipsvd-cdb'), [ourCdb, ourCdb + '.tmp', path.join(dir, 'peers')], root);
  t.equal(r.code, 0, 'our ipsvd-cdb compiles the peers dir');
  t.same(fs.readFileSync(path.join(dir, 'peers.cdb')), fs.readFileSync(ourCdb), 'peers.cdb is what our ipsvd-cdb writes');
  // Debian's ipsvd-cdb as well, where it is installed.
  const { skip } = needReference('ipsvd-cdb');
  if (skip) t.comment(skip);
  else {
    const refCdb = path.join(root, 'ref.cdb');
    const rr = await run(reference('ipsvd-cdb'), [refCdb, refCdb + '.tmp', path.join(dir, 'peers')], root);
    t.equal(rr.code, 0, "Debian's ipsvd-cdb compiles the peers dir");
    t.same(fs.readFileSync(path.join(dir, 'peers.cdb')), fs.readFileSync(refCdb), "peers.cdb is what Debian's ipsvd-cdb writes");
  }
}

t.test('the example: a grant with a limit and a variable holding quotes', async (t) => {
  const { root, dir, srv } = setup(t);
  const r = await srv('--peers', 'sshd', '-g', '127.0.0.5', '-e', 'OPTIONS=-o "PermitRootLogin yes"', '-m', '10');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout + r.stderr, '', 'quiet when it worked');
  const file = path.join(dir, 'peers', '127.0.0.5');
  t.equal(fs.readFileSync(file, 'utf8'), '+\nC10\n+OPTIONS=-o "PermitRootLogin yes"\n');
  t.equal(fs.statSync(file).mode & 0o777, 0o644, 'readable: instructions');
  await sameAsCompilers(t, root, dir);
  const d = await decisions(t, path.join(dir, 'peers.cdb'), ['127.0.0.5', '127.0.0.6']);
  t.equal(d['127.0.0.5'], 'ok:-o "PermitRootLogin yes"\n', 'the granted host gets its variable');
  t.equal(d['127.0.0.6'], 'ok:unset\n', 'a host with no entry gets the default');
});

t.test('grant, exclude, remove, update in place; the cdb follows each change', async (t) => {
  const { root, dir, srv } = setup(t);
  const peers = path.join(dir, 'peers');
  let r = await srv('--peers', 'sshd', '-g', '127.0.0.5', '-g', '127.0.1', '-e', 'OPTIONS=a', '-x', '127.0.0.9', '-x', '127.0.2');
  t.equal(r.code, 0, r.stderr);
  t.equal(fs.statSync(path.join(peers, '127.0.0.9')).mode & 0o777, 0, 'excluded: no permission at all');
  t.equal(fs.readFileSync(path.join(peers, '127.0.1'), 'utf8'), '+\n+OPTIONS=a\n', 'a network, granted');
  await sameAsCompilers(t, root, dir);
  let d = await decisions(t, path.join(dir, 'peers.cdb'), ['127.0.0.5', '127.0.1.7', '127.0.0.9', '127.0.2.3', '127.0.0.8']);
  t.same(d, { '127.0.0.5': 'ok:a\n', '127.0.1.7': 'ok:a\n', '127.0.0.9': '', '127.0.2.3': '', '127.0.0.8': 'ok:unset\n' });

  // A hand-written line and a comment survive an update; the limit and the variable are replaced.
  fs.writeFileSync(path.join(peers, '127.0.0.5'), '# web front\n+OPTIONS=a\nC3\n+KEEP=1\n');
  r = await srv('--peers', 'sshd', '-g', '127.0.0.5', '-e', 'OPTIONS=b', '-e', 'NEW=2', '-m', '4', '-y', '127.0.0.9', '-g', '127.0.2');
  t.equal(r.code, 0, r.stderr);
  t.equal(fs.readFileSync(path.join(peers, '127.0.0.5'), 'utf8'), '+\n# web front\n+OPTIONS=b\nC4\n+KEEP=1\n+NEW=2\n');
  t.notOk(fs.existsSync(path.join(peers, '127.0.0.9')), '-y removes the entry');
  t.equal(fs.readFileSync(path.join(peers, '127.0.2'), 'utf8'), '+\nC4\n+OPTIONS=b\n+NEW=2\n', 'an excluded net granted: a new file (-e and -m go to every -g host)');
  await sameAsCompilers(t, root, dir);
  d = await decisions(t, path.join(dir, 'peers.cdb'), ['127.0.0.5', '127.0.0.9', '127.0.2.3']);
  t.same(d, { '127.0.0.5': 'ok:b\n', '127.0.0.9': 'ok:unset\n', '127.0.2.3': 'ok:b\n' });

  // No option: the cdb is rebuilt from what is in the dir now (an edit by hand).
  fs.writeFileSync(path.join(peers, '127.0.0.8'), '+OPTIONS=by hand\n');
  r = await srv('--peers', 'sshd');
  t.equal(r.code, 0, r.stderr);
  await sameAsCompilers(t, root, dir);
  d = await decisions(t, path.join(dir, 'peers.cdb'), ['127.0.0.8']);
  t.equal(d['127.0.0.8'], 'ok:by hand\n');
  t.same(fs.readdirSync(peers).filter((n) => n.startsWith('.')), [], 'no temporary file left');
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no temporary cdb left');
});

t.test('nothing is lost: a command entry is not overwritten; a failed rebuild keeps the old cdb', async (t) => {
  const { dir, srv } = setup(t);
  const peers = path.join(dir, 'peers');
  fs.mkdirSync(peers);
  fs.writeFileSync(path.join(peers, '127.0.0.7'), 'echo special\n', { mode: 0o755 });
  let r = await srv('--peers', 'sshd', '-g', '127.0.0.7');
  t.equal(r.code, 111);
  t.match(r.stderr, `srv: warning: sshd: ${path.join(peers, '127.0.0.7')} is a command (owner execute bit): not changed`);
  t.equal(fs.readFileSync(path.join(peers, '127.0.0.7'), 'utf8'), 'echo special\n');

  r = await srv('--peers', 'sshd');
  t.equal(r.code, 0);
  const before = fs.readFileSync(path.join(dir, 'peers.cdb'));
  // An entry that cannot be read (a directory) stops the rebuild.
  fs.mkdirSync(path.join(peers, '127.0.0.6'));
  r = await srv('--peers', 'sshd', '-g', '127.0.0.5');
  t.equal(r.code, 111);
  t.match(r.stderr, `srv: warning: sshd: unable to read ${path.join(peers, '127.0.0.6')}`);
  t.same(fs.readFileSync(path.join(dir, 'peers.cdb')), before, 'the old cdb stays');
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('.')), [], 'its temporary file is removed');

  const { srv: srv2 } = setup(t);
  r = await srv2('--peers', 'sshd');
  t.equal(r.code, 1, 'no peers dir to rebuild from');
  t.match(r.stderr, 'no peers directory');
});

t.test('-m: the per-host limit that tcpsvd -x applies', async (t) => {
  const { dir, srv } = setup(t);
  const r = await srv('--peers', 'sshd', '-g', '127.0.0.3', '-m', '1');
  t.equal(r.code, 0, r.stderr);
  // As in ipsvd, a C instruction changes the per-host limit that -C turns on.
  const s = await startServer(ours('tcpsvd'), ['-C', '100', '-x', path.join(dir, 'peers.cdb'), '127.0.0.1', '0', 'sh', '-c', 'read x; echo "got $x"'],
    { PATH: '/usr/bin:/bin' });
  t.teardown(() => s.stop());
  const net = await import('node:net');
  const first = net.connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.0.3' });
  t.teardown(() => first.destroy());
  let firstOut = '';
  first.on('data', (b) => { firstOut += b; });
  const firstClosed = new Promise<void>((res) => first.on('close', () => res()));
  await within('first client connected', new Promise<void>((res) => first.on('connect', () => res())));
  const second = await talk(s.port, { local: '127.0.0.3', send: 'x\n' }).catch((e: NodeJS.ErrnoException) => e.code ?? 'error');
  t.ok(second === '' || second === 'ECONNRESET', `the second client from that host is turned away (got ${JSON.stringify(second)})`);
  t.equal(await talk(s.port, { local: '127.0.0.4', send: 'y\n' }), 'got y\n', 'another host is served');
  first.write('z\n');
  await within('first client served', firstClosed);
  t.equal(firstOut, 'got z\n', 'the first client was served');
});

t.test('a link planted in peers/ or the service dir is never followed (srv runs as root)', async (t) => {
  const { root, dir, srv } = setup(t);
  const peers = path.join(dir, 'peers');
  fs.mkdirSync(peers);
  // Files of root's that the links point at: none may change, in contents or mode.
  const victim = (name: string) => {
    const f = path.join(root, name);
    fs.writeFileSync(f, `${name} secret\n`, { mode: 0o600 });
    return f;
  };
  const intact = (f: string, what: string) => {
    t.equal(fs.readFileSync(f, 'utf8'), `${path.basename(f)} secret\n`, `${what}: contents unchanged`);
    t.equal(fs.statSync(f).mode & 0o777, 0o600, `${what}: mode unchanged`);
  };
  // The temporary names srv used to write to, and the cdb's.
  const tmpVictim = victim('tmp-target');
  fs.symlinkSync(tmpVictim, path.join(peers, '.1.2.3.4.srv-tmp'));
  fs.symlinkSync(tmpVictim, path.join(peers, '.5.6.7.8.srv-tmp'));
  const cdbVictim = victim('cdb-target');
  fs.symlinkSync(cdbVictim, path.join(dir, 'peers.cdb.tmp'));
  let r = await srv('--peers', 'sshd', '-g', '1.2.3.4', '-x', '5.6.7.8');
  t.equal(r.code, 0, r.stderr);
  intact(tmpVictim, 'a link at the old temporary name');
  intact(cdbVictim, 'a link at peers.cdb.tmp');
  t.equal(fs.readFileSync(path.join(peers, '1.2.3.4'), 'utf8'), '+\n', 'the grant is written');
  t.equal(fs.statSync(path.join(peers, '5.6.7.8')).mode & 0o777, 0, 'the exclusion is written');

  // A granted host's file that is a link: its target is neither read into the entry nor written.
  const shadow = victim('shadow');
  fs.symlinkSync(shadow, path.join(peers, '9.9.9.9'));
  r = await srv('--peers', 'sshd', '-g', '9.9.9.9', '-e', 'A=b');
  t.equal(r.code, 111);
  t.match(r.stderr, `srv: warning: sshd: ${path.join(peers, '9.9.9.9')} is a symbolic link: not changed`);
  intact(shadow, 'a granted entry that is a link');
  t.ok(fs.lstatSync(path.join(peers, '9.9.9.9')).isSymbolicLink(), 'the link stays as it was');

  // An exclusion replaces the link itself (rename), never the file it names.
  r = await srv('--peers', 'sshd', '-x', '9.9.9.9');
  t.equal(r.code, 0, r.stderr);
  intact(shadow, 'an excluded entry that was a link');
  t.ok(fs.lstatSync(path.join(peers, '9.9.9.9')).isFile(), 'the entry is now a file of its own');
});
