// A platform that runs nothing and keeps the desired counts only: controller tests in one process.
import { revisionKey } from "../../common/state.ts";
import type { Platform, PodTemplate, RevisionPods } from "../../platform/platform.ts";

export class IdlePlatform implements Platform {
  readonly revisions = new Map<string, RevisionPods>();
  ensureRevision(template: PodTemplate): void {
    const key = revisionKey(template.namespace, template.revision);
    if (!this.revisions.has(key)) this.revisions.set(key, { key, desired: 0, pods: [] });
  }
  scale(key: string, replicas: number): void {
    const entry = this.revisions.get(key);
    if (entry) entry.desired = replicas;
  }
  async deleteRevision(key: string): Promise<void> {
    this.revisions.delete(key);
  }
  revision(key: string): RevisionPods | undefined {
    return this.revisions.get(key);
  }
  onChange(): void {}
  async close(): Promise<void> {}
}
