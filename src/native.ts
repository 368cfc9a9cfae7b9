// The optional native addon (build/Release/ucspi.node, built by node-gyp at
// install). Every user must work without it: load() returns null when missing.
import * as path from 'node:path';

let cached: any | null | undefined;

export function loadNative(): any | null {
  if (cached !== undefined) return cached;
  if (process.env.UCSPI_NO_NATIVE) return (cached = null);
  // From dist/src/ when built, from src/ when the TypeScript runs directly (tap).
  for (const up of [['..', '..'], ['..']]) {
    try {
      return (cached = require(path.join(__dirname, ...up, 'build', 'Release', 'ucspi.node')));
    } catch {
      // try the next place
    }
  }
  return (cached = null);
}
