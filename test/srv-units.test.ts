// srv's pure parts: the log directory named by log/run, a granted peer's
// file after an update, env arguments and files.
import t from 'tap';
import { logDirOf, words } from '../src/srv/logdir';
import { checkHost, grantText, parseSetting } from '../src/srv/peers';
import { envText, parseEnvArg } from '../src/srv/envdir';

t.test('log/run: the directory of multilog, svlogd, s6-log', async (t) => {
  const L = '/etc/sv/x/log';
  t.equal(logDirOf('#!/bin/sh\nexec multilog t s1000000 n20 ./main\n', L), '/etc/sv/x/log/main');
  t.equal(logDirOf('#!/bin/sh\nexec setuidgid log multilog t \'-.*debug\' /var/log/x\n', L), '/var/log/x');
  t.equal(logDirOf('exec multilog t +x e', L), null, 'multilog with no directory: only actions');
  t.equal(logDirOf('exec chpst -ulog svlogd -tt "/var/log/my dir"  # comment', L), '/var/log/my dir');
  t.equal(logDirOf('exec /usr/bin/s6-log -b n20 s1000000 t ./s6', L), '/etc/sv/x/log/s6');
  t.equal(logDirOf('#!/bin/sh\nexec cat > /dev/null\n', L), null, 'no logger');
  t.same(words(`a 'b c' "d \\"e\\"" f\\ g # h`), ['a', 'b c', 'd "e"', 'f g']);
});

t.test('a granted host: the + line, the limit, variables; other lines kept', async (t) => {
  const s = (x: string) => parseSetting(x)!;
  t.equal(grantText(null, 10, [s('OPTIONS=-o "PermitRootLogin yes"')]), '+\nC10\n+OPTIONS=-o "PermitRootLogin yes"\n');
  t.equal(grantText(null, null, []), '+\n');
  t.equal(grantText('', null, [s('A=1')]), '+\n+A=1\n', 'an empty file');
  t.equal(grantText('# note\nC3:busy\n+A=1\n+B\n', 5, [s('B=2'), s('C=')]), '+\n# note\nC5\n+A=1\n+B=2\n+C=\n');
  t.equal(grantText('+\n+A=1=2\n', null, [s('A=x=y')]), '+\n+A=x=y\n', 'the first = splits name and value');
  t.equal(parseSetting('=x'), null);
  t.equal(parseSetting('A'), null);
  t.equal(parseSetting('A=b\nc'), null);
  for (const bad of ['', '.', '..', '.x', 'a/b', 'a\nb']) t.ok(checkHost(bad), `bad host ${JSON.stringify(bad)}`);
  for (const good of ['127.0.0.5', '10', 'host.example.org', '0', '::1']) t.equal(checkHost(good), null, good);
});

t.test('env arguments and the files envdir and chpst -e read', async (t) => {
  t.same(parseEnvArg('A=b c'), { name: 'A', value: 'b c' });
  t.same(parseEnvArg('A='), { name: 'A', value: '' });
  t.same(parseEnvArg('A'), { name: 'A', value: null });
  for (const bad of ['=x', '', 'a/b=1', '.A=1', '..']) t.equal(parseEnvArg(bad), null, `bad ${JSON.stringify(bad)}`);
  t.equal(envText({ name: 'A', value: 'two\nlines' }), 'two\0lines\n');
  t.equal(envText({ name: 'A', value: '' }), '\n', 'empty value: one empty line');
  t.equal(envText({ name: 'A', value: null }), '', 'unset: an empty file');
});

t.test('replaceFile: the mode whatever the umask, a link at the name replaced not followed, no temporary file left', async (t) => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { replaceFile } = await import('../src/lib/replace');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replace-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const old = process.umask(0o077);
  try { replaceFile(path.join(dir, 'a'), 'x\n', 0o644); } finally { process.umask(old); }
  t.equal(fs.statSync(path.join(dir, 'a')).mode & 0o777, 0o644, 'mode set on the descriptor, not through the umask');
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'keep\n', { mode: 0o600 });
  fs.symlinkSync(target, path.join(dir, 'link'));
  replaceFile(path.join(dir, 'link'), 'new\n', 0o000);
  t.equal(fs.readFileSync(target, 'utf8'), 'keep\n', 'the link target unchanged');
  t.equal(fs.statSync(target).mode & 0o777, 0o600);
  t.ok(fs.lstatSync(path.join(dir, 'link')).isFile(), 'the name is now a file of its own');
  fs.mkdirSync(path.join(dir, 'd'));
  t.throws(() => replaceFile(path.join(dir, 'd'), 'y\n', 0o644), { code: 'EISDIR' }, 'a directory in the way: the rename fails');
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('.')), [], 'and its temporary file is removed');
});
