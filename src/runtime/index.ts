export { TaskRuntime, runtimeIdOf } from "./task-runtime.js";
export type { ContainerLaunch, TaskRuntimeOptions } from "./task-runtime.js";
export type { SupervisedState } from "./container-supervisor.js";
export type { ContainerLogChunk, ContainerLogLine } from "./container-log.js";
export type { TaskBudget } from "./task-cgroup.js";
export type { ImageRuntimeConfig } from "./oci-spec.js";
export { UnknownUserError } from "./image-user.js";
export { CommandLauncher } from "./command-launcher.js";
