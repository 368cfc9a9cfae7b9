// The optional native addon (build/Release/ucspi.node, built by node-gyp at
// install). Every user must work without it: load() returns null when missing.
import * as path from 'node:path';

let cached: any | null | undefined;

export function loadNative(): any | null {
  if (cached !== undefined) return cached;
  if (process.env.UCSPI_NO_NATIVE) return (cached = null);
  try {
    cached = require(path.join(__dirname, '..', '..', 'build', 'Release', 'ucspi.node'));
  } catch {
    cached = null;
  }
  return cached;
}
