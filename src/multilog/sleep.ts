// A blocking sleep. multilog's retry pauses are synchronous on purpose:
// while it waits for the disk it must neither read nor lose input.
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
