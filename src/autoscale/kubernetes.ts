import { AppsV1Api, KubeConfig } from "@kubernetes/client-node";
import type { Actuator } from "./autoscaler.js";

export interface KubernetesDeploymentOptions {
  /** The Deployment whose pods run `sirocco worker`. */
  deployment: string;
  /** Default: the namespace of the current kube context, else "default". */
  namespace?: string;
  /** Default: loaded as kubectl does (in-cluster service account, else $KUBECONFIG / ~/.kube/config). */
  kubeConfig?: KubeConfig;
}

/**
 * Scales a Kubernetes Deployment of `sirocco worker` pods through its `scale` subresource
 * (GET, then PUT with the resourceVersion read, so a concurrent change is a conflict rather
 * than lost). Kubernetes sends SIGTERM to pods it removes; a worker then finishes its task
 * in flight before exiting, so set the pod's `terminationGracePeriodSeconds` above your
 * longest task (deploy/k8s/worker-deployment.yaml).
 *
 * @example new KubernetesDeploymentActuator({ deployment: "sirocco-worker", namespace: "data" })
 */
export class KubernetesDeploymentActuator implements Actuator {
  private readonly api: AppsV1Api;
  private readonly namespace: string;

  constructor(private readonly o: KubernetesDeploymentOptions) {
    let kc = o.kubeConfig;
    if (!kc) {
      kc = new KubeConfig();
      kc.loadFromDefault();
    }
    this.namespace = o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
    this.api = kc.makeApiClient(AppsV1Api);
  }

  async current(): Promise<number> {
    const s = await this.api.readNamespacedDeploymentScale({ name: this.o.deployment, namespace: this.namespace });
    return s.spec?.replicas ?? 0;
  }

  async scaleTo(n: number): Promise<void> {
    const s = await this.api.readNamespacedDeploymentScale({ name: this.o.deployment, namespace: this.namespace });
    await this.api.replaceNamespacedDeploymentScale({
      name: this.o.deployment,
      namespace: this.namespace,
      body: {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: this.o.deployment, namespace: this.namespace, resourceVersion: s.metadata?.resourceVersion },
        spec: { replicas: n },
      },
    });
  }
}
