// `berth image`: builds a small OCI image with no Docker (from Debian's busybox-static and/or host
// directories) and pushes it to a registry or writes it as an OCI layout; pulls into a store.
import { readFileSync } from "node:fs";
import { arch } from "node:os";
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";
import { buildImage, ImageStore, pushImage, writeOciLayout } from "../../images/index.js";
import type { RegistryCredentials } from "../../images/index.js";

const USAGE = `usage: berth image build --tag REGISTRY/NAME:TAG [--from busybox|scratch] [--dir SRC[:DEST]]...
                         [--entrypoint JSON] [--cmd JSON] [--env K=V]... [--workdir DIR] [--user U]
                         [--port PORT]... [--label K=V]... [--stop-signal SIG]
                         [--push] [--oci-layout DIR] [--insecure-registry HOST:PORT]... [--ca-bundle FILE]
                         [--username U --password-stdin]
       berth image pull REFERENCE [--store DIR] [--insecure-registry HOST:PORT]... [--ca-bundle FILE] [--username U --password-stdin]

  build   one layer: busybox (its binary and applet links) and the given directories
  --push  send it to the tag's registry (plain HTTP for loopback and --insecure-registry)
  --ca-bundle  the registry is HTTPS (even on loopback) with a certificate from this CA, e.g. a
          Berth server's <data-dir>/ca.pem
  pull    fetch and unpack an image into a host image store (default /var/lib/berth/images)`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

const jsonArray = (name: string, text: string | undefined): string[] | undefined => {
  if (text === undefined) return undefined;
  const value = JSON.parse(text) as unknown;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw new Error(`--${name} must be a JSON array of strings`);
  return value as string[];
};

/** Every option of both subcommands; each takes the ones it needs. */
const OPTIONS = {
  tag: { type: "string" },
  from: { type: "string", default: "busybox" },
  dir: { type: "string", multiple: true, default: [] },
  entrypoint: { type: "string" },
  cmd: { type: "string" },
  env: { type: "string", multiple: true, default: [] },
  workdir: { type: "string" },
  user: { type: "string" },
  port: { type: "string", multiple: true, default: [] },
  label: { type: "string", multiple: true, default: [] },
  "stop-signal": { type: "string" },
  push: { type: "boolean", default: false },
  "oci-layout": { type: "string" },
  "insecure-registry": { type: "string", multiple: true, default: [] },
  "ca-bundle": { type: "string" },
  username: { type: "string" },
  "password-stdin": { type: "boolean", default: false },
  store: { type: "string", default: "/var/lib/berth/images" },
} satisfies ParseArgsConfig["options"];

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>["values"];

/** How this command reaches the registry of the reference given: credentials, plain-HTTP hosts, CA. */
interface RegistryAccess {
  readonly credentials: RegistryCredentials | undefined;
  readonly insecureRegistries: string[];
  readonly ca: string | undefined;
}

const hostArchitecture = () => (arch() === "arm64" ? "arm64" : "amd64");

async function registryAccess(values: Values): Promise<RegistryAccess> {
  const credentials: RegistryCredentials | undefined = values.username
    ? { username: values.username, password: values["password-stdin"] ? await readStdin() : "" }
    : undefined;
  // The CA applies to the registry of the reference given (the one this command talks to).
  const ca = values["ca-bundle"] === undefined ? undefined : readFileSync(values["ca-bundle"], "utf8");
  return { credentials, insecureRegistries: values["insecure-registry"] ?? [], ca };
}

async function build(values: Values, access: RegistryAccess): Promise<void> {
  if (!values.tag) throw new Error("--tag is required");
  if (values.from !== "busybox" && values.from !== "scratch") throw new Error("--from must be busybox or scratch");
  const image = await buildImage({
    busybox: values.from === "busybox",
    directories: (values.dir ?? []).map((spec) => {
      const [source, destination = "/"] = spec.split(":");
      return { source: source!, destination };
    }),
    architecture: hostArchitecture(),
    entrypoint: jsonArray("entrypoint", values.entrypoint),
    cmd: jsonArray("cmd", values.cmd),
    env: values.env,
    workingDir: values.workdir,
    user: values.user,
    exposedPorts: values.port,
    labels: Object.fromEntries((values.label ?? []).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)])),
    stopSignal: values["stop-signal"],
  });
  if (values["oci-layout"]) writeOciLayout(values["oci-layout"], image, values.tag.slice(values.tag.lastIndexOf(":") + 1));
  if (values.push)
    await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, values.tag, {
      insecureRegistries: access.insecureRegistries,
      ...(access.credentials ? { credentials: access.credentials } : {}),
      ...(access.ca ? { trust: { ca: access.ca } } : {}),
    });
  process.stdout.write(`${values.tag}@${image.manifest.digest}\n`);
}

async function pull(values: Values, reference: string | undefined, access: RegistryAccess): Promise<void> {
  if (!reference) throw new Error("an image reference is required");
  const { ca } = access;
  const store = new ImageStore({ root: values.store!, insecureRegistries: access.insecureRegistries, ...(ca ? { trustFor: () => ({ ca }) } : {}) });
  const image = await store.pull(reference, {
    platform: { os: "linux", architecture: hostArchitecture() },
    policy: "always",
    ...(access.credentials ? { credentials: access.credentials } : {}),
  });
  process.stdout.write(`${image.reference}@${image.manifestDigest} (${image.layerDirs.length} layers, ${image.sizeBytes} bytes)\n`);
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return sub ? 0 : 2;
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: OPTIONS });
    const access = await registryAccess(values);
    if (sub === "build") await build(values, access);
    else if (sub === "pull") await pull(values, positionals[0], access);
    else throw new Error(`unknown subcommand '${sub}'`);
    return 0;
  } catch (error) {
    process.stderr.write(`berth image: ${(error as Error).message}\n`);
    return 1;
  }
}
