// bin/<command> for every Node command: written by `npm run build` and again
// by the install step, for the Node that runs them (process.execPath), so
// that a command finds that Node where PATH has none or another (nvm, /opt,
// a run script's restricted PATH); `node` on PATH only if that one is gone.
//
// Where the addon was built, each file is native/launcher.c's program with
// this Node and its flags written in (a shell drops the variables whose names
// are not shell identifiers, which the originals pass on); otherwise each
// file is a sh script, then a Node script. Either does, before Node starts:
// - moves every NODE_*, UV_* and OPENSSL_* variable aside as
//   UCSPI_SAVED_<name> (an existing UCSPI_SAVED_* one too, one level deeper):
//   Node reads NODE_OPTIONS (--inspect, --require), NODE_PATH,
//   NODE_EXTRA_CA_CERTS, UV_THREADPOOL_SIZE, OPENSSL_CONF ... from its own
//   environment at start, and they are meant for the programs a server runs;
// - records the soft descriptor limit before Node raises it (UCSPI_NOFILE),
//   which of fds 0, 1, 2 were closed (Node reopens them on /dev/null:
//   UCSPI_CLOSED_FDS), and which signals were ignored (Node sets them back
//   to the default: UCSPI_SIGIGN, /proc's SigIgn);
// - puts back the PWD sh rewrites, where `env -S` can carry it past sh (not
//   BusyBox's env: there, PWD is what sh makes of it).
// The bundle's first lines (scripts/banner.js) restore all of it. Node itself
// is started so that SIGUSR1 never opens its inspector (a debugger on
// 127.0.0.1:9229 in a root process): --disable-sigusr1 where Node has it,
// else with the inspector's address where it cannot listen (see
// closingFlags); the bundle's first line then takes SIGUSR1 over.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const INSPECT_NOWHERE = '--inspect-port=[100::1]:9229';

/** The flags of `node` that close the inspector's SIGUSR1 door, as this Node takes them. */
function closingFlags(node) {
  const takes = (flags) => {
    const r = spawnSync(node, [...flags, '-e', '0'], { encoding: 'utf8', env: {}, timeout: 20000 });
    return r.status === 0 && r.stderr === '';
  };
  if (takes(['--disable-sigusr1'])) return ['--disable-sigusr1'];
  // Node 20 has no such flag: its inspector, started by a SIGUSR1 that
  // comes before the bundle's first line takes the signal over, is sent to
  // an address no socket can be bound to (100::1, RFC 6666's discard prefix,
  // never local), and fails there ("Starting inspector on 100::1:9229
  // failed: address not available", the signal lost).
  if (takes([INSPECT_NOWHERE])) return [INSPECT_NOWHERE];
  return [];
}
/** Whether this system's env takes -S (GNU coreutils, FreeBSD; not BusyBox). */
function envSplits() {
  const r = spawnSync('/usr/bin/env', ['-S', 'true'], { stdio: 'ignore', timeout: 20000 });
  return r.status === 0;
}

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The text of bin/<command>. */
function launcher(node, flags, splits) {
  // Its own variables are named _u_* and never exported: a variable of the
  // caller's (c, n, w ...) must reach the programs as it came.
  const sh = [
    `set -f; _u_words=$(ulimit -n; export -p)`,
    `for _u_pass in 1 2; do for _u_w in $_u_words; do`,
    `  case $_u_pass$_u_w in [1]UCSPI_SAVED_?*=*|[1]UCSPI_NOFILE=*|[1]UCSPI_SIGIGN=*|[2]NODE_?*=*|[2]UV_?*=*|[2]OPENSSL_?*=*) ;; *) continue;; esac`,
    `  _u_n=\${_u_w%%=*}; case $_u_n in *[!A-Za-z0-9_]*) continue;; esac`,
    `  eval "[ -n \\"\\\${$_u_n+x}\\" ] && UCSPI_SAVED_$_u_n=\\\${$_u_n} && export UCSPI_SAVED_$_u_n && unset $_u_n"`,
    `done; done; for _u_w in $_u_words; do UCSPI_NOFILE=$_u_w; export UCSPI_NOFILE; break; done`,
    ...(splits ? [`if [ -n "$UCSPI_START_PWD" ]; then PWD=$UCSPI_START_PWD; else unset PWD; fi; unset UCSPI_START_PWD`] : []),
    `_u_c=; true 9>&2 || _u_c=2; for _u_fd in 0 1; do { true 9>&$_u_fd; } 2>/dev/null || _u_c="$_u_c\${_u_c:+,}$_u_fd"; done`,
    `UCSPI_CLOSED_FDS=$_u_c; export UCSPI_CLOSED_FDS`,
    `while read -r _u_k _u_v; do case $_u_k in SigIgn:) case $_u_v in *[!0]*) UCSPI_SIGIGN=$_u_v; export UCSPI_SIGIGN;; esac; break;; esac; done 2>/dev/null </proc/$$/status`,
    `_u_n=${q(node)}; [ -x "$_u_n" ] || _u_n=node`,
    `exec "$_u_n" ${flags.map(q).join(' ')}${flags.length ? ' ' : ''}"$0" "$@"`,
  ];
  const shebang = splits ? '#!/usr/bin/env -S UCSPI_START_PWD=${PWD} /bin/sh' : '#!/bin/sh';
  return `${shebang}
${sh.map((l) => `':' //; ${l}`).join('\n')}
// Written by scripts/launcher.js (npm run build, npm install): see there.
require(\`../dist/cmd/\${require('node:path').basename(__filename)}.js\`).main(process.argv.slice(2));
`;
}

/**
 * The Node commands: every dist/cmd/<command>.js, or src/cmd/<command>.ts
 * before a build (an installed package ships dist/ and no src/).
 */
function commands(root) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const sources = path.join(root, 'src', 'cmd');
  const fromSrc = new Set(fs.existsSync(sources) ? fs.readdirSync(sources).map((f) => f.replace(/\.ts$/, '')) : []);
  const built = path.join(root, 'dist', 'cmd');
  const fromDist = new Set(fs.existsSync(built) ? fs.readdirSync(built).map((f) => f.replace(/\.js$/, '')) : []);
  return Object.keys(pkg.bin).filter((c) => fromSrc.has(c) || fromDist.has(c));
}

const MARKER = 'UCSPI-LAUNCHER-CONFIG\n';

/**
 * The compiled form of bin/<command> (native/launcher.c, built beside the
 * addon): the program with node's path and flags written into its CONFIG,
 * or null when it was not built or its CONFIG cannot be found or hold them.
 * It does the sh prelude's work without a shell, which drops every variable
 * whose name is not a shell identifier.
 */
function compiled(root, node, flags) {
  let exe;
  try {
    exe = fs.readFileSync(path.join(root, 'build', 'Release', 'ucspi-launcher'));
  } catch {
    return null;
  }
  const at = exe.indexOf(MARKER);
  if (at < 0 || exe.indexOf(MARKER, at + 1) >= 0) return null;
  const config = Buffer.from([node, ...flags, ''].join('\0') + '\0');
  if (config.length > 4096 - MARKER.length - 1 || [node, ...flags].some((s) => s === '' || s.includes('\0'))) return null;
  const out = Buffer.from(exe);
  config.copy(out, at + MARKER.length);
  return out;
}

/**
 * Writes bin/<command> for each Node command, each through a temporary file
 * and rename(2), so that a command started meanwhile runs the old file or
 * the new one, never half of one. The compiled form where it was built
 * (UCSPI_SH_LAUNCHER=1: the sh form all the same), else the sh one.
 */
function writeLaunchers(root, node = process.execPath) {
  const flags = closingFlags(node);
  const text = (process.env.UCSPI_SH_LAUNCHER !== '1' && compiled(root, node, flags)) || launcher(node, flags, envSplits());
  const bin = path.join(root, 'bin');
  for (const c of commands(root)) {
    const file = path.join(bin, c);
    const tmp = path.join(bin, `.${c}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, text, { mode: 0o755 });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, file);
  }
}

module.exports = { writeLaunchers, launcher, closingFlags, compiled };

if (require.main === module) writeLaunchers(path.resolve(__dirname, '..'));
