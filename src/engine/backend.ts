// The one place a server chooses between the addon's path (accept in
// native/accept.cc, posix_spawn in native/launch.cc) and the pure-Node path
// (net.Server and child_process), once, at start. Everything below takes what
// is chosen here; no other layer of the server loads the addon.
// $UCSPI_LAUNCHER=spawn asks for the pure-Node path, =native insists on the
// addon's; $UCSPI_NO_NATIVE hides the addon.
import { type Addon, addonFile, loadNative, nativeLoadError } from '../native';
import type { Launcher } from '../launch/launch';
import { createNativeLauncher, createSpawnLauncher } from '../launch/index';
import type { OpenListener } from '../listen/listen';

export interface Backend {
  /** The addon in use, or null on the pure-Node path. */
  readonly addon: Addon | null;
  readonly launcher: Launcher;
  readonly open: OpenListener;
}

function nodePath(): Backend {
  const { listenNet } = require('../listen/netserver') as typeof import('../listen/netserver');
  return { addon: null, launcher: createSpawnLauncher(), open: listenNet };
}

function addonPath(addon: Addon): Backend {
  const launcher = createNativeLauncher(addon);
  const { nativeOpener } = require('../listen/native') as typeof import('../listen/native');
  return { addon, launcher, open: nativeOpener(addon) };
}

/**
 * warn: how the server reports an addon that is built but unusable; it then
 * runs on the pure-Node path. Throws when $UCSPI_LAUNCHER=native cannot be had.
 */
export function chooseBackend(warn: (what: string, err: Error) => void): Backend {
  const want = process.env.UCSPI_LAUNCHER;
  if (want === 'spawn') return nodePath();
  const addon = loadNative();
  if (want === 'native') {
    if (!addon) {
      const why = nativeLoadError();
      throw new Error('UCSPI_LAUNCHER=native but the native launcher is not available' + (why ? `: ${why.message}` : ''));
    }
    return addonPath(addon);
  }
  if (!addon) {
    const why = nativeLoadError();
    if (why) warn('native addon unusable, running without it', why);
    return nodePath();
  }
  try {
    return addonPath(addon);
  } catch (e) {
    warn('native launcher unusable, running without the addon', e as Error);
    return nodePath();
  }
}

/**
 * For --help and --version: whether the addon is in use and the file it is
 * loaded from, or why not ($UCSPI_LAUNCHER=spawn and $UCSPI_NO_NATIVE
 * choose the path of Node alone).
 */
export function describeAddon(env: NodeJS.ProcessEnv = process.env): string {
  const file = addonFile() ?? '(no package directory)';
  const alone = ', running on Node alone';
  if (env.UCSPI_LAUNCHER === 'spawn') return `native addon: not in use (UCSPI_LAUNCHER=spawn)${alone}`;
  if (env.UCSPI_NO_NATIVE) return `native addon: not in use (UCSPI_NO_NATIVE is set)${alone}`;
  if (loadNative()) return `native addon: in use, loaded from ${file}`;
  const why = nativeLoadError();
  if (why) return `native addon: not in use, ${file} failed to load: ${why.message.split('\n')[0]}${alone}`;
  return `native addon: not built (no ${file})${alone}`;
}
