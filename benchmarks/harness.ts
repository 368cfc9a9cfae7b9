// A bare accept-and-launch server around one launcher, without the engine:
// measures what the launch path alone costs. Usage:
//   node dist/benchmarks/harness.js native|spawn PORT PROG...
// prints "listening PORT" once bound.
import * as net from 'node:net';
import type { Launcher } from '../src/launch/launch';
import { createNativeLauncher } from '../src/launch/native';

function pick(name: string): Launcher {
  if (name === 'native') {
    const l = createNativeLauncher();
    if (!l) throw new Error('native launcher unavailable');
    return l;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createSpawnLauncher } = require('../src/launch/spawn');
  return createSpawnLauncher();
}

export function main(argv: string[]): void {
  const launcher = pick(argv[0]);
  const prog = argv.slice(2);
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  const server = net.createServer({ pauseOnConnect: true }, (sock) => {
    const fd = (sock as any)._handle.fd as number;
    launcher.launch({ argv: prog, env, fd, owned: false }, (err) => {
      if (err) process.stderr.write(`harness: ${err.message}\n`);
      sock.destroy();
    }, () => {});
  });
  server.listen(Number(argv[1]), '127.0.0.1', 511, () => {
    process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
  });
}

if (require.main === module) main(process.argv.slice(2));
