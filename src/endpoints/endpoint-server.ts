// The HTTP side of 169.254.170.2: the task metadata endpoint (v4, v3) and the container credentials
// endpoint, answering only the task a connection comes from.
//
// Who is asking is decided by where the connection arrived, never by the path: each VPC router on
// the host has its own listening socket (made inside its namespace, namespace-listener.ts), and the
// remote address of a connection on it is the task's own VPC address (the router does not
// masquerade what it delivers locally, and its prerouting chain has already dropped anything whose
// port, MAC and address are not one task's). So (router, address) names one task, even where two
// VPCs on this host overlap; the path's id must then be one of that task's, or the answer is a
// refusal that says nothing of whether the id exists elsewhere.
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { TaskCredentialsAnswer } from "../protocol/index.js";
import type { TaskEndpointIds } from "./endpoint-paths.js";
import { parseEndpointPath } from "./endpoint-paths.js";
import { relayVerdict } from "./relay-rules.js";

/** What the directory knows of one task, found by (router, address). */
export interface EndpointTask {
  readonly taskArn: string;
  readonly ids: TaskEndpointIds;
  readonly hasTaskRole: boolean;
}

/** The agent's side: lookups (O(1): a map per router of address to task) and the documents. */
export interface EndpointDirectory {
  find(router: string, address: string): EndpointTask | undefined;
  taskDocument(task: EndpointTask, version: 3 | 4): object | undefined;
  containerDocument(task: EndpointTask, containerName: string, version: 3 | 4): object | undefined;
  /** Stats keyed by container runtime id (task), or one container's. */
  taskStats(task: EndpointTask): object | undefined;
  containerStats(task: EndpointTask, containerName: string): object | undefined;
  credentials(task: EndpointTask): Promise<TaskCredentialsAnswer>;
  /** Sends a task's signed AWS API request on to the control plane (api-relay.ts); absent: nothing is relayed. */
  readonly relay?: ((task: EndpointTask, request: IncomingMessage, response: ServerResponse) => Promise<void>) | undefined;
  onError(error: unknown, what: string): void;
}

const send = (response: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
};

// The ECS agent's refusals, as recalled from its handlers: wording not confirmed.
const NOT_FOUND = { message: "Unable to get task metadata: no task is known for this request" }; // wording not confirmed
const CREDENTIALS_NOT_FOUND = { code: "InvalidIdInRequest", message: "CredentialsV2Request: Credentials not found" }; // wording not confirmed

/** A request the relay never passes on, whoever sends it; the body is not read, so the connection goes with the answer. */
const refuse = (response: ServerResponse) => {
  response.shouldKeepAlive = false;
  send(response, 403, { message: "Forbidden" }); // wording not confirmed
};

/** The address without the IPv4-mapped prefix Node gives a dual-stack socket's peer. */
export const plainAddress = (address: string | undefined) => (address ?? "").replace(/^::ffff:/, "");

/** Answers one request that arrived through `router`'s listener. */
export async function answerEndpointRequest(directory: EndpointDirectory, router: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const parsed = parseEndpointPath(request.url ?? "");
  if (parsed.kind === "unknown") {
    // Not the endpoint's own path: a signed AWS API call is relayed (relay-rules.ts says which).
    const verdict = relayVerdict(request.method, request.url, request.headers.authorization);
    if (verdict === "refuse") return refuse(response);
    const task = verdict === "relay" && directory.relay ? directory.find(router, plainAddress(request.socket.remoteAddress)) : undefined;
    if (task) return directory.relay!(task, request, response);
  }
  if (request.method !== "GET" && request.method !== "HEAD") return send(response, 405, { message: "Only GET is supported" }); // wording not confirmed
  const task = directory.find(router, plainAddress(request.socket.remoteAddress));
  if (parsed.kind === "credentials") {
    if (!task || !task.hasTaskRole || parsed.id !== task.ids.credentials) return send(response, 400, CREDENTIALS_NOT_FOUND);
    let credentials: TaskCredentialsAnswer;
    try {
      credentials = await directory.credentials(task);
    } catch (error) {
      directory.onError(error, "task role credentials could not be had");
      return send(response, 500, { code: "InternalError", message: "CredentialsV2Request: Unable to get credentials" }); // wording not confirmed
    }
    // The container credential providers' shape (AWS SDK v3 credential-provider-http, botocore's ContainerProvider).
    return send(response, 200, {
      RoleArn: credentials.roleArn,
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      Expiration: new Date(credentials.expiration).toISOString().replace(/\.\d{3}Z$/, "Z"),
    });
  }
  if (parsed.kind !== "metadata" || !task) return send(response, 404, NOT_FOUND);
  const containerName = [...task.ids.containers].find(([, id]) => id === parsed.id)?.[0];
  if (containerName === undefined) return send(response, 404, NOT_FOUND);
  const body = documentFor(directory, task, containerName, parsed.version, parsed.resource);
  return body === undefined ? send(response, 404, NOT_FOUND) : send(response, 200, body);
}

function documentFor(directory: EndpointDirectory, task: EndpointTask, containerName: string, version: 3 | 4, resource: string): object | undefined {
  switch (resource) {
    case "container":
      return directory.containerDocument(task, containerName, version);
    case "task":
    case "taskWithTags":
      return directory.taskDocument(task, version);
    case "stats":
      return directory.containerStats(task, containerName);
    default:
      return directory.taskStats(task);
  }
}

/**
 * Connection bounds of one router's listener: tasks are untrusted, and every socket they hold open
 * is a file descriptor of the agent (of the server itself for its embedded agent). So connections
 * are capped per task address and in all, a socket idle past IDLE_SOCKET_MS (longer than the
 * relay's longest call) is closed, and request deadlines are checked every second rather than
 * Node's default 30 s (a request trickled byte by byte is cut after 10 s).
 */
const MAX_CONNECTIONS = 2048;
const MAX_CONNECTIONS_PER_SOURCE = 64;
const IDLE_SOCKET_MS = 70_000;

/** The HTTP server of one router's listener: every connection on it came through `router`. */
export function createEndpointServer(directory: EndpointDirectory, router: string): Server {
  const server = createServer(
    { requestTimeout: 10_000, headersTimeout: 5_000, maxHeaderSize: 8192, connectionsCheckingInterval: 1_000 },
    (request, response) => {
      answerEndpointRequest(directory, router, request, response).catch((error: unknown) => {
        directory.onError(error, "metadata endpoint request failed");
        if (!response.headersSent) send(response, 500, { message: "Internal error" });
      });
    },
  );
  server.keepAliveTimeout = 5_000;
  server.maxConnections = MAX_CONNECTIONS;
  server.setTimeout(IDLE_SOCKET_MS);
  const bySource = new Map<string, number>();
  server.on("connection", (socket) => {
    const source = socket.remoteAddress ?? "";
    const open = (bySource.get(source) ?? 0) + 1;
    if (open > MAX_CONNECTIONS_PER_SOURCE) {
      socket.destroy();
      return;
    }
    bySource.set(source, open);
    socket.once("close", () => {
      const left = (bySource.get(source) ?? 1) - 1;
      if (left > 0) bySource.set(source, left);
      else bySource.delete(source);
    });
  });
  return server;
}
