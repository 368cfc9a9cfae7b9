// Node's timers hold at most 2^31-1 ms (about 24.8 days): a longer delay
// fires after 1 ms instead, with a TimeoutOverflowWarning on stderr. Every
// delay that comes from an option or a file goes through timerMs before it
// reaches setTimeout or setInterval: longer than Node can wait is as long as
// it can (nobody tells a wait of 24.8 days from a longer one in a timeout).
export const TIMER_MAX_MS = 0x7fffffff;

/** ms as a delay a Node timer keeps: at most TIMER_MAX_MS, never negative. */
export function timerMs(ms: number): number {
  return ms > TIMER_MAX_MS ? TIMER_MAX_MS : ms > 0 ? ms : 0;
}
