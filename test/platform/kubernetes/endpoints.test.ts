import type { V1EndpointSlice } from "@kubernetes/client-node";
import t from "tap";
import {
  podStatuses,
  readyEndpoints,
  scrapeTargets,
  slicePods,
} from "../../../platform/kubernetes/endpoints.ts";

const ports = [
  { name: "queue-serving", port: 8012, protocol: "TCP" },
  { name: "queue-admin", port: 8022, protocol: "TCP" },
  { name: "queue-metrics", port: 9091, protocol: "TCP" },
];

function endpoint(
  pod: string,
  ip: string,
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean },
) {
  return { addresses: [ip], conditions, targetRef: { kind: "Pod", name: pod, namespace: "default" } };
}

const slice: V1EndpointSlice = {
  addressType: "IPv4",
  metadata: {
    name: "hello-00001-private-abcde",
    labels: { "kubernetes.io/service-name": "hello-00001-private" },
  },
  ports,
  endpoints: [
    endpoint("hello-00001-deployment-7d9f-b", "10.0.0.12", {
      ready: true,
      serving: true,
      terminating: false,
    }),
    endpoint("hello-00001-deployment-7d9f-a", "10.0.0.11", {
      ready: true,
      serving: true,
      terminating: false,
    }),
    endpoint("hello-00001-deployment-7d9f-c", "10.0.0.13", {
      ready: false,
      serving: false,
      terminating: false,
    }),
    // Draining: still serving what it holds, but no new requests.
    endpoint("hello-00001-deployment-7d9f-d", "10.0.0.14", {
      ready: false,
      serving: true,
      terminating: true,
    }),
  ],
};

t.test("ready endpoints: ready and not terminating, at the queue-proxy port, by pod name", async (t) => {
  t.same(readyEndpoints([slice]), [
    { pod: "hello-00001-deployment-7d9f-a", url: "http://10.0.0.11:8012" },
    { pod: "hello-00001-deployment-7d9f-b", url: "http://10.0.0.12:8012" },
  ]);
  t.same(scrapeTargets([slice]), [
    { pod: "hello-00001-deployment-7d9f-a", adminUrl: "http://10.0.0.11:8022" },
    { pod: "hello-00001-deployment-7d9f-b", adminUrl: "http://10.0.0.12:8022" },
  ]);
});

t.test("the platform's pod phases", async (t) => {
  t.same(
    podStatuses([slice]).map((pod) => [pod.name, pod.phase]),
    [
      ["hello-00001-deployment-7d9f-a", "ready"],
      ["hello-00001-deployment-7d9f-b", "ready"],
      ["hello-00001-deployment-7d9f-c", "starting"],
      ["hello-00001-deployment-7d9f-d", "terminating"],
    ],
  );
});

t.test("terminating with ready still set is not ready", async (t) => {
  const odd: V1EndpointSlice = {
    addressType: "IPv4",
    ports,
    endpoints: [endpoint("p", "10.0.0.1", { ready: true, terminating: true })],
  };
  t.same(readyEndpoints([odd]), []);
});

t.test("unset ready counts as ready; ports by name; IPv6 in brackets; FQDN skipped", async (t) => {
  const v6: V1EndpointSlice = {
    addressType: "IPv6",
    ports: [
      { name: "queue-admin", port: 18022 },
      { name: "queue-serving", port: 18012 },
    ],
    endpoints: [{ addresses: ["fd00::5"], targetRef: { kind: "Pod", name: "p6" } }],
  };
  const fqdn: V1EndpointSlice = { addressType: "FQDN", ports, endpoints: [{ addresses: ["example.com"] }] };
  t.same(readyEndpoints([v6, fqdn]), [{ pod: "p6", url: "http://[fd00::5]:18012" }]);
  t.equal(slicePods([v6])[0].adminUrl, "http://[fd00::5]:18022");
  const noPorts: V1EndpointSlice = { addressType: "IPv4", endpoints: [{ addresses: ["10.1.1.1"] }] };
  t.same(
    readyEndpoints([noPorts]),
    [{ pod: "10.1.1.1", url: "http://10.1.1.1:8012" }],
    "no targetRef: the address",
  );
  t.same(readyEndpoints([{ addressType: "IPv4" }]), [], "a slice without endpoints");
});

t.test("a pod listed in two slices counts once, ready if either says so", async (t) => {
  const old: V1EndpointSlice = {
    addressType: "IPv4",
    ports,
    endpoints: [endpoint("hello-00001-deployment-7d9f-c", "10.0.0.13", { ready: true })],
  };
  const pods = slicePods([slice, old]);
  t.equal(pods.length, 4);
  t.ok(pods.find((pod) => pod.pod === "hello-00001-deployment-7d9f-c")?.ready);
});
