// Pick the launcher once per server: the native one when the addon is built,
// child_process otherwise; $UCSPI_LAUNCHER=spawn|native forces one (spawn also
// makes the server accept through net.Server: the whole pure-Node path).
import type { Launcher } from './launch';

function createSpawnLauncher(): Launcher {
  // child_process only when it is used.
  return (require('./spawn') as typeof import('./spawn')).createSpawnLauncher();
}

function nativeLauncher(): Launcher | null {
  try {
    // Loaded lazily: the native launcher module may be absent in a partial tree.
    return require('./native').createNativeLauncher();
  } catch {
    return null;
  }
}

export function selectLauncher(): Launcher {
  const want = process.env.UCSPI_LAUNCHER;
  if (want === 'spawn') return createSpawnLauncher();
  if (want === 'native') {
    const n = nativeLauncher();
    if (!n) throw new Error('UCSPI_LAUNCHER=native but the native launcher is not available');
    return n;
  }
  return nativeLauncher() ?? createSpawnLauncher();
}
