// The agent protocol's `taskCredentials` call: an agent asks for the task role's temporary
// credentials of one task it runs, to serve them to that task's containers at
// 169.254.170.2/v2/credentials/<id> (src/endpoints). The control plane answers only for a task
// placed on the calling host, not stopped, whose task definition names a taskRoleArn.
//
// A new call, not a changed one: an older agent never makes it, and a newer agent talking to an
// older server gets 404 UnknownCall, which it answers its container with as "no credentials" (the
// protocol version stays 1; version.ts bumps only on incompatible changes).
//
// The answer is a secret: nothing may log it, and the agent keeps it in memory only.
import Type from "typebox";
import type { Static } from "typebox";
import { MAX_ARN_CHARS } from "./task-status.js";
import { compileCheck } from "./schema-check.js";
import type { Checked } from "./schema-check.js";

export const TaskCredentialsBodySchema = Type.Object({
  hostId: Type.Optional(Type.String({ maxLength: 255 })),
  taskArn: Type.String({ minLength: 1, maxLength: MAX_ARN_CHARS }),
});
export type TaskCredentialsBody = Static<typeof TaskCredentialsBodySchema>;

/** STS's shapes: access key ids are 16-128 characters, session tokens bounded here at 8 KiB. */
export const TaskCredentialsAnswerSchema = Type.Immutable(
  Type.Object({
    accessKeyId: Type.String({ minLength: 16, maxLength: 128, pattern: "^[A-Za-z0-9]+$" }),
    secretAccessKey: Type.String({ minLength: 1, maxLength: 256 }),
    sessionToken: Type.String({ minLength: 1, maxLength: 8192 }),
    /** ms since the epoch. */
    expiration: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 }),
    roleArn: Type.String({ minLength: 1, maxLength: MAX_ARN_CHARS }),
  }),
);
export type TaskCredentialsAnswer = Static<typeof TaskCredentialsAnswerSchema>;

const bodyCheck = compileCheck(TaskCredentialsBodySchema);
const answerCheck = compileCheck(TaskCredentialsAnswerSchema);

export const parseTaskCredentialsBody = (body: unknown): Checked<TaskCredentialsBody> => bodyCheck.parse(body);
export const parseTaskCredentialsAnswer = (answer: unknown): Checked<TaskCredentialsAnswer> => answerCheck.parse(answer);
