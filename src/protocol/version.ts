// The agent protocol is versioned so a control plane and an agent of different releases can tell
// whether they understand each other (DESIGN.md: "agent protocol (versioned, authenticated)").
// Bump on any incompatible change to the types in this folder.
export const protocolVersion = 1;

/** Where the control plane serves this version of the protocol: POST <prefix><call>. */
export const AGENT_ROUTE_PREFIX = `/_berth/agent/v${protocolVersion}/`;

/** The protocol's calls, as the last segment of their path. */
export type AgentCall = "register" | "poll" | "report" | "heartbeat" | "logs" | "taskCredentials" | "secrets" | "targetHealth" | "loadBalancerMetrics";
