// HAProxy's view of a server (one row of `show stat`) → ELBv2's TargetHealth (pure).
// Reason codes from the ELBv2 API reference (TargetHealth data type); descriptions as the AWS CLI
// prints them for describe-target-health.
//
//   not in HAProxy yet ........................ initial    Elb.RegistrationInProgress
//   draining in the model (or DRAIN/NOLB) ...... draining   Target.DeregistrationInProgress
//   its group serves no listener ............... unused     Target.NotInUse
//   no check result yet (INI), or added and
//   passing but not yet `rise` times ........... initial    Elb.InitialHealthChecking
//   UP (UP n/m: failing, not yet down) ......... healthy
//   DOWN / MAINT, by the last check's status:
//     L7STS (a status the matcher refused) ..... unhealthy  Target.ResponseCodeMismatch
//     L4TOUT / L6TOUT / L7TOUT ................. unhealthy  Target.Timeout
//     anything else (refused, reset, bad reply)  unhealthy  Target.FailedHealthChecks
//
// A new target gets no traffic before it passes: haproxy-node.ts adds it in maintenance and
// readies it with its health forced down, so HAProxy needs `rise` passes as AWS needs the healthy
// threshold (HAProxy's own start would be "up, one failure from down").

export type TargetHealthState = "initial" | "healthy" | "unhealthy" | "draining" | "unused" | "unavailable";

export interface TargetHealth {
  readonly State: TargetHealthState;
  readonly Reason?: string;
  readonly Description?: string;
}

/** The fields of one `show stat` server row this mapping reads. */
export interface ServerCheck {
  /** "UP", "UP 1/3", "DOWN", "DOWN 1/2", "MAINT", "DRAIN", "NOLB", "no check". */
  readonly status: string;
  /** "INI", "L4OK", "L4CON", "L4TOUT", "L7OK", "L7STS", "L7TOUT", "L7RSP", "SOCKERR", … */
  readonly checkStatus: string;
  /** The HTTP status of the last check, when it had one. */
  readonly checkCode?: number | undefined;
}

export interface TargetContext {
  readonly draining: boolean;
  /** Whether any listener action forwards to the target's group. */
  readonly groupInUse: boolean;
  /** Added and not yet seen UP: its checks have not passed the healthy threshold once. */
  readonly awaitingFirstPass?: boolean | undefined;
}

export const REGISTRATION_IN_PROGRESS: TargetHealth = {
  State: "initial",
  Reason: "Elb.RegistrationInProgress",
  Description: "Target registration is in progress",
};
const INITIAL_HEALTH_CHECKING: TargetHealth = { State: "initial", Reason: "Elb.InitialHealthChecking", Description: "Initial health checking in progress" };
const DEREGISTRATION: TargetHealth = { State: "draining", Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress" };
const NOT_IN_USE: TargetHealth = {
  State: "unused",
  Reason: "Target.NotInUse",
  Description: "Target group is not configured to receive traffic from the load balancer",
};
/** HAProxy's check results that are a pass (management.txt, "check_status"). */
const PASSED = new Set(["L4OK", "L6OK", "L7OK", "L7OKC"]);
const TIMEOUT: TargetHealth = { State: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out" };
const FAILED: TargetHealth = { State: "unhealthy", Reason: "Target.FailedHealthChecks", Description: "Health checks failed" };

function unhealthy(check: ServerCheck): TargetHealth {
  if (check.checkStatus === "L7STS" && check.checkCode !== undefined) {
    return { State: "unhealthy", Reason: "Target.ResponseCodeMismatch", Description: `Health checks failed with these codes: [${check.checkCode}]` };
  }
  if (check.checkStatus === "L4TOUT" || check.checkStatus === "L6TOUT" || check.checkStatus === "L7TOUT") return TIMEOUT;
  return FAILED;
}

/** The TargetHealth of a target HAProxy reports as `check` (undefined: not in HAProxy yet). */
export function targetHealth(check: ServerCheck | undefined, context: TargetContext): TargetHealth {
  if (context.draining || check?.status === "DRAIN" || check?.status === "NOLB") return DEREGISTRATION;
  if (check === undefined) return REGISTRATION_IN_PROGRESS;
  if (!context.groupInUse) return NOT_IN_USE;
  if (check.checkStatus === "INI" || check.checkStatus === "") return INITIAL_HEALTH_CHECKING;
  // Passing so far, not yet `rise` times: still initial. A failure makes it unhealthy (as on AWS).
  if (context.awaitingFirstPass && !check.status.startsWith("UP") && PASSED.has(check.checkStatus)) return INITIAL_HEALTH_CHECKING;
  if (check.status.startsWith("UP") || check.status === "no check") return { State: "healthy" };
  return unhealthy(check);
}
