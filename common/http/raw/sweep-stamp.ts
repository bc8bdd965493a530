// The raw path times its connections and requests with one periodic sweep instead of a timer each.
// The hot path never reads the clock: it marks a stamp UNSTAMPED ("this began since the sweep last
// looked") and the sweep writes the time in. Comparing an UNSTAMPED or UNTIMED stamp as a time was
// a bug here more than once (connections closed or requests failed at the first sweep), so every
// sweep goes through this one function.

/** Began since the sweep last looked: the sweep stamps it. */
export const UNSTAMPED = -1;
/** Nothing is being timed. */
export const UNTIMED = 0;
/** sweepStamp's answer when the time is up. */
export const EXPIRED = -2;

/**
 * One stamp at one sweep: the stamp to keep (`stampAs`, normally `now`, for an UNSTAMPED one), or
 * EXPIRED when more than `limitMs` passed since it. A limit of 0 times nothing. Real stamps are
 * Date.now() times, so none is ever mistaken for UNSTAMPED, UNTIMED or EXPIRED.
 */
export function sweepStamp(stamp: number, now: number, limitMs: number, stampAs = now): number {
  if (limitMs === 0 || stamp === UNTIMED) return stamp;
  if (stamp === UNSTAMPED) return stampAs;
  return now - stamp > limitMs ? EXPIRED : stamp;
}
