// A blocking sleep, for the pauses the originals take with sleep(3): while a
// program waits for the disk or for input it must neither read nor lose
// anything, so the event loop waits too.
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
