/**
 * What a queue-proxy reports at admin GET /stats, once per scrape. Counts cover the window since
 * the previous read (reset on read), so exactly one scraper (the autoscaler) should read it.
 */
export interface PodStats {
  revision: string;
  pod: string;
  /** Time-weighted average of requests in the pod (in flight + queued) over the window. */
  averageConcurrency: number;
  /** The part of averageConcurrency that arrived through the activator (K-Proxy-Request). */
  averageProxiedConcurrency: number;
  /** Requests that arrived during the window. */
  requestCount: number;
  proxiedRequestCount: number;
  /** Instantaneous values at the time of the read. */
  inFlight: number;
  queued: number;
  /** Length of the window the averages and counts cover. */
  windowSeconds: number;
  uptimeSeconds: number;
  /** False once draining after SIGTERM or while the app is not answering its probe. */
  ready: boolean;
}
