// The optional native addon (build/Release/ucspi.node, built by node-gyp at
// install). Every user must work without it: load() returns null when missing.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

let cached: any | null | undefined;

/** The package root: the nearest directory up from here with a package.json. */
function packageRoot(): string | undefined {
  // From dist/cmd/ (the bundles), dist/src/ (tsc's output) or src/ (tap).
  for (let dir = __dirname, up = 0; up < 4; up++, dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

export function loadNative(): any | null {
  if (cached !== undefined) return cached;
  if (process.env.UCSPI_NO_NATIVE) return (cached = null);
  const root = packageRoot();
  try {
    return (cached = root === undefined ? null : require(path.join(root, 'build', 'Release', 'ucspi.node')));
  } catch {
    return (cached = null);
  }
}
