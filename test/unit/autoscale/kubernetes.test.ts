/**
 * The Kubernetes actuator against a recorded API contract: a small HTTP server on
 * 127.0.0.1 that answers the Deployment `scale` subresource the way the API server does
 * and checks every request it gets (method, path, auth, body). No cluster runs here.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Autoscaler } from "../../../src/autoscale/autoscaler.js";
import { KubernetesDeploymentActuator } from "../../../src/autoscale/kubernetes.js";

const PATH = "/apis/apps/v1/namespaces/data/deployments/sirocco-worker/scale";

interface Seen {
  method: string;
  url: string;
  auth?: string;
  contentType?: string;
  body?: unknown;
}

let server: http.Server;
let port: number;
const seen: Seen[] = [];
let replicas = 2;
let resourceVersion = 100;
/** When set, the next PUT answers 409 as the API server does for a stale resourceVersion. */
let conflictNext = false;

function scaleObject() {
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name: "sirocco-worker", namespace: "data", resourceVersion: String(resourceVersion) },
    spec: { replicas },
    status: { replicas, selector: "app=sirocco-worker" },
  };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => (text += d.toString()));
    req.on("end", () => {
      const s: Seen = { method: req.method!, url: req.url!, auth: req.headers.authorization, contentType: req.headers["content-type"], body: text ? JSON.parse(text) : undefined };
      seen.push(s);
      const send = (code: number, obj: unknown) => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify(obj));
      };
      if (req.url !== PATH) return send(404, { kind: "Status", status: "Failure", reason: "NotFound", code: 404 });
      if (req.method === "GET") return send(200, scaleObject());
      if (req.method === "PUT") {
        const body = s.body as { metadata: { resourceVersion?: string }; spec: { replicas: number } };
        if (conflictNext || body.metadata.resourceVersion !== String(resourceVersion)) {
          conflictNext = false;
          return send(409, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Conflict", code: 409, message: 'Operation cannot be fulfilled on deployments.apps "sirocco-worker": the object has been modified' });
        }
        replicas = body.spec.replicas;
        resourceVersion++;
        return send(200, scaleObject());
      }
      send(405, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "scaler", token: "t0ken" }],
    contexts: [{ name: "test", cluster: "test", user: "scaler", namespace: "data" }],
    currentContext: "test",
  });
  return kc;
}

describe("KubernetesDeploymentActuator (recorded API contract)", () => {
  it("reads spec.replicas and scales with a PUT of autoscaling/v1 Scale carrying the resourceVersion it read", async () => {
    seen.length = 0;
    const a = new KubernetesDeploymentActuator({ deployment: "sirocco-worker", kubeConfig: kubeConfig() });
    expect(await a.current()).toBe(2);
    await a.scaleTo(5);
    expect(replicas).toBe(5);
    expect(await a.current()).toBe(5);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([`GET ${PATH}`, `GET ${PATH}`, `PUT ${PATH}`, `GET ${PATH}`]);
    expect(seen.every((s) => s.auth === "Bearer t0ken")).toBe(true);
    const put = seen[2]!;
    expect(put.contentType).toMatch(/^application\/json/);
    expect(put.body).toEqual({ apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "sirocco-worker", namespace: "data", resourceVersion: "100" }, spec: { replicas: 5 } });
  });

  it("driven by the Autoscaler: scales up with the backlog, down to min when the queue empties; a conflict is reported and retried on the next tick", async () => {
    replicas = 1;
    seen.length = 0;
    let clock = 0;
    const errors: string[] = [];
    let snapshot = { backlog: 12, inFlight: 0, recentTaskMs: [] as number[] };
    const scaler = new Autoscaler(new KubernetesDeploymentActuator({ deployment: "sirocco-worker", namespace: "data", kubeConfig: kubeConfig() }), async () => snapshot, {
      minWorkers: 1,
      maxWorkers: 4,
      scaleUpCooldownMs: 1000,
      scaleDownCooldownMs: 10_000,
    }, { now: () => clock, onError: (e) => errors.push((e as Error).message) });
    await scaler.tick();
    expect(replicas).toBe(4);
    conflictNext = true;
    snapshot = { backlog: 0, inFlight: 0, recentTaskMs: [200] };
    clock = 20_000;
    await scaler.tick().catch((e: Error) => errors.push(e.message));
    expect(errors.join("\n")).toContain("409");
    expect(replicas).toBe(4);
    await scaler.tick();
    expect(replicas).toBe(1);
    expect(scaler.decisions.map((d) => [d.from, d.desired])).toEqual([[1, 4], [4, 1]]);
    const puts = seen.filter((s) => s.method === "PUT").map((s) => (s.body as { spec: { replicas: number } }).spec.replicas);
    expect(puts).toEqual([4, 1, 1]);
  });
});
