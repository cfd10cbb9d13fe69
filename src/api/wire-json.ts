// The JSON the AWS JSON protocols put on the wire: timestamps as epoch seconds. Shared by the
// gateway (every answer) and service modules that keep an answer's text ready (RawJsonOutput).

/**
 * A response body already serialised in wire form; the gateway sends its text as is. `Output` is
 * the response shape the text encodes: it lets the typed operation table (service-module.ts) hold
 * a handler that answers with text to the same output type as one answering with an object.
 */
export class RawJsonOutput<Output = unknown> {
  /** Never set: it only carries `Output` so that texts of different responses do not mix. */
  declare private readonly encodes?: Output;
  constructor(readonly text: string) {}
}

/** JSON.stringify with Dates as epoch seconds, as ECS and the other JSON services send them, and blobs (Uint8Array) as base64. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value ?? {}, function (this: Record<string, unknown>, key, converted: unknown) {
    const raw = this[key];
    if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64");
    return raw instanceof Date ? raw.getTime() / 1000 : converted;
  });
}
