import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import t from "tap";
import { podFailure, revisionFailure } from "../../../platform/kubernetes/pod-failure.ts";

function pod(
  statuses: Partial<V1ContainerStatus>[],
  extra: Partial<NonNullable<V1Pod["status"]>> = {},
): V1Pod {
  return {
    metadata: { name: "p" },
    status: {
      phase: "Pending",
      containerStatuses: statuses.map((status) => ({
        name: "user-container",
        image: "ghcr.io/acme/nope:1",
        imageID: "",
        ready: false,
        restartCount: 0,
        ...status,
      })),
      ...extra,
    },
  };
}

const imagePull = pod([
  {
    state: {
      waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "ghcr.io/acme/nope:1"' },
    },
  },
]);

t.test("image pull errors", async (t) => {
  t.same(podFailure(imagePull), {
    kind: "image",
    reason: "ImagePullBackOff",
    container: "user-container",
    message:
      'container user-container: cannot pull image ghcr.io/acme/nope:1: Back-off pulling image "ghcr.io/acme/nope:1"',
  });
  t.match(podFailure(pod([{ state: { waiting: { reason: "ErrImagePull" } } }])), {
    kind: "image",
    reason: "ErrImagePull",
  });
  t.match(podFailure(pod([{ state: { waiting: { reason: "InvalidImageName" } } }])), { kind: "image" });
});

t.test("crash loops, with the exit code and the termination message", async (t) => {
  const crashing = pod([
    {
      restartCount: 4,
      state: {
        waiting: { reason: "CrashLoopBackOff", message: "back-off 1m20s restarting failed container" },
      },
      lastState: { terminated: { exitCode: 1, reason: "Error", message: "Error: listen EADDRINUSE\n" } },
    },
  ]);
  t.same(podFailure(crashing), {
    kind: "crash",
    reason: "CrashLoopBackOff",
    container: "user-container",
    message: "container user-container exited with code 1 (restarted 4 times): Error: listen EADDRINUSE",
  });
  const oom = pod([{ restartCount: 1, state: { terminated: { exitCode: 137, reason: "OOMKilled" } } }]);
  t.match(podFailure(oom), { kind: "crash", reason: "OOMKilled", message: /exceeding its memory limit/ });
  const exited = pod([{ state: { terminated: { exitCode: 3, reason: "Error" } } }]);
  t.match(podFailure(exited), { reason: "ExitCode3" });
  t.equal(podFailure(pod([{ state: { terminated: { exitCode: 0, reason: "Completed" } } }])), undefined);
});

t.test("a missing Secret or ConfigMap", async (t) => {
  const missing = pod([
    { state: { waiting: { reason: "CreateContainerConfigError", message: 'secret "shop-db" not found' } } },
  ]);
  t.same(podFailure(missing), {
    kind: "config",
    reason: "CreateContainerConfigError",
    container: "user-container",
    message: 'container user-container: secret "shop-db" not found',
  });
});

t.test("unschedulable", async (t) => {
  const pending = pod([], {
    conditions: [
      {
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message: "0/3 nodes are available: 3 Insufficient cpu.",
      },
    ],
  });
  t.same(podFailure(pending), {
    kind: "unschedulable",
    reason: "Unschedulable",
    message: "the pod cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu.",
  });
});

t.test("starting and running pods have no failure", async (t) => {
  t.equal(podFailure(pod([{ state: { waiting: { reason: "ContainerCreating" } } }])), undefined);
  t.equal(podFailure(pod([{ ready: true, state: { running: { startedAt: new Date() } } }])), undefined);
  t.equal(podFailure({ metadata: { name: "new" } }), undefined);
});

t.test("a revision fails only while none of its pods is ready", async (t) => {
  const ready: V1Pod = pod([{ ready: true, state: { running: {} } }], {
    conditions: [{ type: "Ready", status: "True" }],
  });
  t.equal(revisionFailure([ready, imagePull]), undefined);
  t.match(revisionFailure([imagePull, pod([{ state: { waiting: { reason: "ContainerCreating" } } }])]), {
    reason: "ImagePullBackOff",
  });
  t.equal(revisionFailure([]), undefined);
  const crash = pod([{ state: { waiting: { reason: "CrashLoopBackOff" } } }]);
  t.match(
    revisionFailure([crash, imagePull, imagePull]),
    { reason: "ImagePullBackOff" },
    "the most common reason",
  );
  t.equal(
    revisionFailure([{ ...imagePull, metadata: { name: "gone", deletionTimestamp: new Date() } }]),
    undefined,
    "pods being deleted do not count",
  );
});
