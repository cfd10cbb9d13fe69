// Folds an agent's TaskStatusReport (actual state) into the stored ECS Task document, so that
// DescribeTasks shows what Fargate shows: statuses, every timestamp, the ENI attachment details,
// containers with runtimeId, exitCode, reason, health and network interfaces.
//
// Reports are at-least-once: a report whose sequence is not newer than the last one applied is
// dropped, so a retried or reordered delivery never moves a task backwards. Independently of
// sequences, lastStatus only moves forward along the Fargate lifecycle and STOPPED is terminal: a
// host that was reaped as lost and comes back reporting RUNNING (with a fresh sequence after an
// agent state loss) cannot resurrect a task whose capacity was already released.
import type { Attachment, Container, Task } from "@aws-sdk/client-ecs";
import type { TaskStatusReport } from "../protocol/index.js";
import { taskLifecycle } from "../protocol/index.js";

export interface StoredTaskState {
  readonly task: Task;
  /** Sequence of the last report applied (0 before any). */
  readonly reportSequence: number;
}

const at = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
const rankOf = (status: string | undefined) => taskLifecycle.indexOf((status ?? "PROVISIONING") as (typeof taskLifecycle)[number]);

export function applyTaskReport(state: StoredTaskState, report: TaskStatusReport): StoredTaskState | undefined {
  if (report.sequence <= state.reportSequence) return undefined;
  const task = state.task;
  const stored = rankOf(task.lastStatus);
  // A stopped task takes no more reports: its stop code, reason and timestamps are final.
  if (task.lastStatus === "STOPPED") return undefined;
  const lastStatus = rankOf(report.lastStatus) >= stored ? report.lastStatus : task.lastStatus;
  const stopping = lastStatus === "STOPPED";
  const attachment = report.attachment;
  const attachments: Attachment[] = (task.attachments ?? []).map((existing) =>
    existing.type === "ElasticNetworkInterface" && attachment
      ? {
          ...existing,
          status: attachment.status,
          details: [
            { name: "subnetId", value: attachment.subnetId },
            { name: "networkInterfaceId", value: attachment.networkInterfaceId },
            { name: "macAddress", value: attachment.macAddress },
            { name: "privateDnsName", value: attachment.privateDnsName },
            { name: "privateIPv4Address", value: attachment.privateIPv4Address },
          ],
        }
      : existing,
  );
  const eniId = task.attachments?.find((a) => a.type === "ElasticNetworkInterface")?.id;
  const containers: Container[] = (task.containers ?? []).map((container) => {
    const reported = report.containers.find((c) => c.name === container.name);
    // A task that stopped stopped all its containers, reported or not (e.g. never started).
    if (!reported) return stopping ? { ...container, lastStatus: "STOPPED" } : container;
    return {
      ...container,
      lastStatus: reported.lastStatus,
      ...(reported.runtimeId !== undefined ? { runtimeId: reported.runtimeId } : {}),
      ...(reported.exitCode !== undefined ? { exitCode: reported.exitCode } : {}),
      ...(reported.reason !== undefined ? { reason: reported.reason } : {}),
      ...(reported.imageDigest !== undefined ? { imageDigest: reported.imageDigest } : {}),
      ...(container.healthStatus !== undefined ? { healthStatus: reported.health } : {}),
      networkInterfaces: reported.networkInterfaces.map((nic) => ({
        attachmentId: eniId ?? nic.attachmentId,
        privateIpv4Address: nic.privateIpv4Address,
      })),
    };
  });
  const next: Task = {
    ...task,
    attachments,
    containers,
    lastStatus,
    healthStatus: report.health,
    // Desired status only moves forward (DESIGN.md rule 3): the agent may stop a task on its own
    // (an essential container exited) but can never bring a stopped one back.
    desiredStatus: task.desiredStatus === "STOPPED" ? "STOPPED" : report.desiredStatus,
    version: (task.version ?? 1) + 1,
    ...(report.pullStartedAtMs !== undefined ? { pullStartedAt: at(report.pullStartedAtMs) } : {}),
    ...(report.pullStoppedAtMs !== undefined ? { pullStoppedAt: at(report.pullStoppedAtMs) } : {}),
    ...(report.connectivityAtMs !== undefined ? { connectivity: "CONNECTED", connectivityAt: at(report.connectivityAtMs) } : {}),
    ...(report.startedAtMs !== undefined ? { startedAt: at(report.startedAtMs) } : {}),
    ...(report.stoppingAtMs !== undefined ? { stoppingAt: at(report.stoppingAtMs) } : {}),
    ...(report.executionStoppedAtMs !== undefined ? { executionStoppedAt: at(report.executionStoppedAtMs) } : {}),
    ...(report.stoppedAtMs !== undefined ? { stoppedAt: at(report.stoppedAtMs) } : {}),
    ...(report.stopCode !== undefined && task.stopCode === undefined ? { stopCode: report.stopCode } : {}),
    ...(report.stoppedReason !== undefined && task.stoppedReason === undefined ? { stoppedReason: report.stoppedReason } : {}),
  };
  return { task: next, reportSequence: report.sequence };
}
