export { createAgent } from "./agent.js";
export type { Agent, AgentParts } from "./agent.js";
export type {
  ContainerExit,
  ContainerState,
  ImagePort,
  LogChunk,
  LogEvent,
  LogSink,
  NetworkPort,
  PulledImageInfo,
  RuntimePort,
  TaskNetworkInfo,
  TaskStateReporter,
} from "./ports.js";
export { TaskRunner, newTaskRecord } from "./task-runner.js";
export type { ContainerPhase, ContainerRecord, TaskRecord } from "./task-runner.js";
export { startOrder } from "./dependency-order.js";
export { LogDeliveryRefusedError } from "./ports.js";
