// The launchers: the native one (posix_spawn on the addon's threads) and
// child_process. Which one a server uses is chosen once, at start, with the
// listener (src/engine/backend.ts).
import type { Addon } from '../native';
import type { Launcher } from './launch';

export function createSpawnLauncher(): Launcher {
  // child_process only when it is used.
  return (require('./spawn') as typeof import('./spawn')).createSpawnLauncher();
}

export function createNativeLauncher(addon: Addon): Launcher {
  return (require('./native') as typeof import('./native')).createNativeLauncher(addon)!;
}
