// Keeps a client-node informer watching across API server restarts: an informer that loses its
// watch (or fails to list) reports "error" and stops, so it is started again until it answers.
import type * as k8s from "@kubernetes/client-node";

/** Starts `informer` and restarts it 250 ms after each error until `stop` is called. */
export async function keepWatching<T extends k8s.KubernetesObject>(
  informer: k8s.Informer<T> & k8s.ObjectCache<T>,
  onError: (error: unknown) => void = () => {},
): Promise<{ stop(): Promise<void> }> {
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  informer.on("error", (error) => {
    onError(error);
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      // start() reports a failed list through "error" again, which schedules the next try.
      if (!stopped) void informer.start();
    }, 250);
  });
  await informer.start();
  return {
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await informer.stop().catch(() => {});
    },
  };
}
