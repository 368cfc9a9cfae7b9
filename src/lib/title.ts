// What ps shows of the process (/proc/PID/cmdline) and its name
// (/proc/PID/comm, what pidof, pgrep -x and killall match). With the addon:
// the words as an original's argv holds them (NUL between them, so pidof's
// first word is the name), and the name apart. Without it, Node's
// process.title: one string, the words joined by spaces, and the name cut
// from its first 15 bytes.
import { addonPart } from '../native';

export function setTitle(words: readonly string[], name: string): void {
  const addon = addonPart('startup');
  try {
    if (addon?.setArgv([...words])) {
      addon.setComm(name);
      return;
    }
  } catch {
    // as without the addon
  }
  try {
    process.title = words.join(' ');
  } catch {
    // not settable here: Node's stays
  }
}
