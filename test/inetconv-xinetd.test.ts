// inetconv -x: an xinetd.conf with defaults and includedir. Attributes that
// map are checked in the run scripts (instances, per_source, user, group,
// server_args, env, bind, port); only_from and no_access are checked on a
// running service from 127.x.y.z sources; everything else is listed.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, startServer, talk } from './helpers/net';
import { tmp } from './helpers/svdir';

const INETCONV = path.join(BIN, 'inetconv');

t.test('xinetd.conf with includedir', async (t) => {
  const dir = tmp(t);
  const d = path.join(dir, 'xinetd.d');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(dir, 'xinetd.conf'), [
    '# top file',
    'defaults',
    '{',
    '\tinstances = 60',
    '\tno_access = 127.0.0.66',
    '}',
    'includedir xinetd.d',
    '',
  ].join('\n'));
  const fake = path.join(dir, 'fake');
  fs.writeFileSync(fake, '#!/bin/sh\necho "ok $1 ${GREETING-}"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(d, 'rsync'), [
    'service rsync',
    '{',
    '\tsocket_type = stream',
    '\twait = no',
    '\tuser = root',
    `\tserver = ${fake}`,
    '\tserver_args = --daemon',
    '\tport = 7373',
    '\tbind = 127.0.0.1',
    '\tinstances = 10',
    '\tper_source = 5',
    '\tonly_from = 127.0.0.0/24 127.0.5.0',
    '\tno_access += 127.0.0.9',
    '\tenv = GREETING=hi',
    '\tcps = 25 30',
    '}',
  ].join('\n') + '\n');
  fs.writeFileSync(path.join(d, 'tftp'), 'service tftp\n{\n socket_type = dgram\n protocol = udp\n wait = yes\n user = nobody\n group = nogroup\n server = /usr/sbin/in.tftpd\n server_args = -s /srv/tftp\n}\n');
  fs.writeFileSync(path.join(d, 'daytime'), 'service daytime\n{\n type = INTERNAL\n id = daytime-stream\n socket_type = stream\n wait = no\n}\n');
  fs.writeFileSync(path.join(d, 'off'), 'service off\n{\n disable = yes\n socket_type = stream\n wait = no\n server = /bin/true\n}\n');
  fs.writeFileSync(path.join(d, 'redir'), 'service redir\n{\n socket_type = stream\n wait = no\n redirect = 10.0.0.1 23\n server = /bin/true\n}\n');
  fs.writeFileSync(path.join(d, 'timed'), 'service timed\n{\n socket_type = stream\n wait = no\n server = /bin/true\n access_times = 2:00-8:59\n}\n');
  fs.writeFileSync(path.join(d, 'named'), 'service named\n{\n socket_type = stream\n wait = no\n server = /bin/true\n only_from = .example.org\n}\n');
  // Names with a dot or ending in ~ are not read by includedir.
  fs.writeFileSync(path.join(d, 'old.rpmsave'), 'this is not xinetd syntax\n');
  fs.writeFileSync(path.join(d, 'tftp~'), 'neither is this\n');

  const r = spawnSync(INETCONV, ['-d', 'sv', '-x', 'xinetd.conf', '-a', 'none', '-D', 'none'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  t.equal(r.stderr, '');
  t.equal(r.status, 2);
  t.match(r.stdout, /^created sv\/rsync$/m);
  t.match(r.stdout, /^created sv\/tftp$/m);
  for (const s of ['daytime', 'off', 'redir', 'timed', 'named']) t.notOk(fs.existsSync(path.join(dir, 'sv', s)), `${s} not written`);
  const f = (n: string) => `xinetd.d/${n}`;
  // defaults' no_access reaches the internal daytime: our inetd could not keep that address out.
  t.match(r.stdout, /^xinetd\.conf:5: not translated: no_access = 127\.0\.0\.66: our inetd has no access control for internal services; not converted$/m);
  t.notOk(fs.existsSync(path.join(dir, 'sv', 'inetd-internal')), 'so no inetd directory');
  t.match(r.stdout, new RegExp(`^${f('off')}:1: not translated: service off: disabled`, 'm'));
  t.match(r.stdout, new RegExp(`^${f('redir')}:1: not translated: service redir: redirect`, 'm'));
  t.match(r.stdout, new RegExp(`^${f('timed')}:1: not translated: service timed: access_times`, 'm'));
  t.match(r.stdout, new RegExp(`^${f('named')}:6: not translated: only_from = \\.example\\.org: host names`, 'm'));
  t.match(r.stdout, new RegExp(`^${f('rsync')}:15: not translated: cps = 25 30: tcpsvd --rate=25/1, a rate per client address`, 'm'));
  t.notMatch(r.stdout, /rpmsave|this is not|neither/, 'skipped files are not read');

  const run = (s: string) => fs.readFileSync(path.join(dir, 'sv', s, 'run'), 'utf8');
  t.equal(run('rsync'), `#!/bin/sh\n# converted by inetconv from ${f('rsync')}\nexec 2>&1\nGREETING=hi; export GREETING\n` +
    `exec ${path.join(BIN, 'tcpsvd')} -v -l '' -c 10 -C 5 --rate=25/1 -x peers.cdb 127.0.0.1 7373 ${fake} --daemon\n`);
  t.equal(run('tftp'), `#!/bin/sh\n# converted by inetconv from ${f('tftp')}\nexec 2>&1\n` +
    `exec ${path.join(BIN, 'udpsvd')} -v -l '' -u nobody:nogroup -x peers.cdb 0.0.0.0 tftp /usr/sbin/in.tftpd -s /srv/tftp\n`);
  // defaults' no_access reaches tftp too; it has no only_from, so its peers deny that one address.
  t.same(fs.readdirSync(path.join(dir, 'sv', 'tftp', 'peers')), ['127.0.0.66']);
  t.same(fs.readdirSync(path.join(dir, 'sv', 'rsync', 'peers')).sort(), ['0', '127.0.0', '127.0.0.66', '127.0.0.9', '127.0.5']);

  // only_from and no_access on the running service: the more specific wins.
  const sdir = path.join(dir, 'sv', 'rsync');
  fs.writeFileSync(path.join(sdir, 'run.test'), run('rsync').replace(' 127.0.0.1 7373 ', ' 127.0.0.1 0 '), { mode: 0o755 });
  const srv = await startServer('/bin/sh', ['-c', `cd '${sdir}' && exec ./run.test`], { PATH: '/usr/bin:/bin' });
  try {
    const cases: Array<[string, string]> = [
      ['127.0.0.5', 'ok --daemon hi\n'], ['127.0.0.9', ''], ['127.0.0.66', ''], ['127.0.5.7', 'ok --daemon hi\n'], ['127.0.1.1', ''],
    ];
    for (const [src, want] of cases) {
      let got = '';
      try { got = await talk(srv.port, { local: src }); } catch { got = ''; }
      t.equal(got, want, `from ${src}`);
    }
  } finally {
    await srv.stop();
  }
});
