// Every rejected case of the Fargate registration rules (../shared/REFERENCE.md "Fargate
// validation", "Task size"): [behaviour, change to a valid request, the exact ClientException
// message]. The unit tests and the SDK integration tests share this table and compare messages for
// equality. Messages AWS is known to use are marked "AWS" below; the others are Berth's, in AWS's
// style, and marked "wording not confirmed" where the code throws them.
import type { ContainerDefinition, RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";

type Case = [behaviour: string, change: Partial<RegisterTaskDefinitionRequest>, message: string];

const web = (extra: Partial<ContainerDefinition>): Partial<RegisterTaskDefinitionRequest> => ({
  containerDefinitions: [{ name: "web", image: "nginx", ...extra }],
});
const rejectedField = (field: string) => `Fargate does not support the '${field}' container parameter.`;
const rejectedLinux = (field: string) => `Fargate does not support the '${field}' linux parameter.`;
const invalid = (detail: string) => `Invalid setting for container 'web'. ${detail}`;
const NO_CONFIGURATION = "No Fargate configuration exists for given values."; // AWS
const withHealthCheck = (healthCheck: ContainerDefinition["healthCheck"]) => web({ healthCheck });

export const rejectedCases: Case[] = [
  // Task size.
  ["rejects 256 CPU with 4096 MiB", { memory: "4096" }, NO_CONFIGURATION],
  ["rejects 512 CPU with 512 MiB", { cpu: "512", memory: "512" }, NO_CONFIGURATION],
  ["rejects 8 vCPU with 18432 MiB (steps of 4096)", { cpu: "8192", memory: "18432" }, NO_CONFIGURATION],
  [
    "rejects a cpu that is not a number of units or vCPUs",
    { cpu: "lots" },
    "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
  ], // AWS
  [
    "rejects a memory that is not MiB or GB",
    { memory: "lots" },
    "Invalid 'memory' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
  ],
  ["rejects a missing task cpu", { cpu: undefined }, "Fargate requires task definition to have 'cpu' parameter set."],
  ["rejects a missing task memory", { memory: undefined }, "Fargate requires task definition to have 'memory' parameter set."],
  // Windows and runtimePlatform.
  [
    "rejects Windows at 256 CPU (Windows has the 1, 2 and 4 vCPU rows only)",
    { runtimePlatform: { operatingSystemFamily: "WINDOWS_SERVER_2019_FULL" } },
    NO_CONFIGURATION,
  ],
  ["rejects Windows at 8 vCPU", { cpu: "8192", memory: "16384", runtimePlatform: { operatingSystemFamily: "WINDOWS_SERVER_2022_CORE" } }, NO_CONFIGURATION],
  [
    "rejects Windows on ARM64",
    { cpu: "1024", memory: "2048", runtimePlatform: { operatingSystemFamily: "WINDOWS_SERVER_2019_FULL", cpuArchitecture: "ARM64" } },
    "Fargate does not support the ARM64 CPU architecture for Windows containers.",
  ],
  [
    "rejects an operatingSystemFamily outside the SDK enum",
    { runtimePlatform: { operatingSystemFamily: "MSDOS" as never } },
    "Invalid operatingSystemFamily 'MSDOS'. Valid values are LINUX, WINDOWS_SERVER_2004_CORE, WINDOWS_SERVER_2016_FULL, WINDOWS_SERVER_2019_CORE, WINDOWS_SERVER_2019_FULL, WINDOWS_SERVER_2022_CORE, WINDOWS_SERVER_2022_FULL, WINDOWS_SERVER_2025_CORE, WINDOWS_SERVER_2025_FULL, WINDOWS_SERVER_20H2_CORE.",
  ],
  [
    "rejects a cpuArchitecture outside the SDK enum",
    { runtimePlatform: { cpuArchitecture: "RISCV" as never } },
    "Invalid cpuArchitecture 'RISCV'. Valid values are ARM64, X86_64.",
  ],
  [
    "rejects a requiresCompatibilities value outside the SDK enum",
    { requiresCompatibilities: ["FARGATE", "LAMBDA" as never] },
    "Invalid requiresCompatibilities value 'LAMBDA'. Valid values are EC2, EXTERNAL, FARGATE, MANAGED_INSTANCES.",
  ],
  // Network mode.
  ["rejects the bridge network mode", { networkMode: "bridge" }, "Fargate only supports network mode 'awsvpc'."], // AWS
  ["rejects a network mode outside the SDK enum", { networkMode: "mesh" as never }, "Invalid networkMode 'mesh'. Valid values are awsvpc, bridge, host, none."],
  ["rejects a hostname under awsvpc", web({ hostname: "box" }), "hostname is not supported on container when networkMode=awsvpc."],
  [
    "rejects a host port different from the container port",
    web({ portMappings: [{ containerPort: 80, hostPort: 8080 }] }),
    "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
  ],
  // Task-level fields Fargate rejects.
  ["rejects ipcMode", { ipcMode: "host" }, "Tasks using the Fargate launch type do not support ipcMode."], // AWS
  [
    "rejects pidMode host",
    { pidMode: "host" },
    "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
  ], // AWS
  [
    "rejects placementConstraints",
    { placementConstraints: [{ type: "memberOf", expression: "attribute:ecs.instance-type =~ t2.*" }] },
    "Task placement constraints are not supported for tasks using the Fargate launch type.",
  ],
  [
    "rejects a dockerVolumeConfiguration volume",
    { volumes: [{ name: "data", dockerVolumeConfiguration: { scope: "task" } }] },
    "Docker volume configuration is not supported by Fargate.",
  ],
  [
    "rejects a host volume with a sourcePath",
    { volumes: [{ name: "data", host: { sourcePath: "/var/data" } }] },
    "Invalid volume 'data'. Fargate does not support host volumes with a sourcePath.",
  ],
  // Names that become host paths (issue 9): AWS's patterns, compared whole.
  [
    "rejects a volume named with `..` (a path out of the task's storage)",
    {
      volumes: [{ name: "../../../../../../../../../.." }],
      ...web({ mountPoints: [{ sourceVolume: "../../../../../../../../../..", containerPath: "/host" }] }),
    },
    "volume.name contains invalid characters.",
  ], // AWS
  ["rejects a volume name with a slash", { volumes: [{ name: "a/b" }] }, "volume.name contains invalid characters."], // AWS
  ["rejects a volume name of 256 characters", { volumes: [{ name: "v".repeat(256) }] }, "volume.name contains invalid characters."],
  ["rejects a container named `..`", { containerDefinitions: [{ name: "..", image: "nginx" }] }, "Container.name contains invalid characters."], // AWS
  ["rejects a container name with a slash", { containerDefinitions: [{ name: "web/../../x", image: "nginx" }] }, "Container.name contains invalid characters."], // AWS
  [
    "rejects a container name of 256 characters",
    { containerDefinitions: [{ name: "c".repeat(256), image: "nginx" }] },
    "Container.name contains invalid characters.",
  ],
  ["rejects an empty container name", { containerDefinitions: [{ name: "", image: "nginx" }] }, "Container.name should not be null or empty."],
  [
    "rejects a relative mount containerPath",
    { volumes: [{ name: "data" }], ...web({ mountPoints: [{ sourceVolume: "data", containerPath: "data" }] }) },
    invalid("mountPoints.containerPath 'data' must be an absolute path."),
  ],
  [
    "rejects a mount on the container's root",
    { volumes: [{ name: "data" }], ...web({ mountPoints: [{ sourceVolume: "data", containerPath: "/./" }] }) },
    invalid("mountPoints.containerPath cannot be '/'."),
  ],
  [
    "rejects a mount path that climbs with ..",
    { volumes: [{ name: "data" }], ...web({ mountPoints: [{ sourceVolume: "data", containerPath: "/proc/.." }] }) },
    invalid("mountPoints.containerPath '/proc/..' must not contain '..'."),
  ],
  [
    "rejects a mount point without a containerPath",
    { volumes: [{ name: "data" }], ...web({ mountPoints: [{ sourceVolume: "data" }] }) },
    invalid("mountPoints.containerPath should not be null or empty."),
  ],
  [
    "rejects a containerPath with a NUL byte",
    { volumes: [{ name: "data" }], ...web({ mountPoints: [{ sourceVolume: "data", containerPath: "/data\0/x" }] }) },
    invalid("mountPoints.containerPath contains invalid characters."),
  ],
  // Container fields Fargate rejects.
  ["rejects a privileged container", web({ privileged: true }), rejectedField("privileged")],
  ["rejects disableNetworking", web({ disableNetworking: true }), rejectedField("disableNetworking")],
  ["rejects dnsServers", web({ dnsServers: ["10.0.0.2"] }), rejectedField("dnsServers")],
  ["rejects dnsSearchDomains", web({ dnsSearchDomains: ["example.com"] }), rejectedField("dnsSearchDomains")],
  ["rejects dockerSecurityOptions", web({ dockerSecurityOptions: ["no-new-privileges"] }), rejectedField("dockerSecurityOptions")],
  ["rejects extraHosts", web({ extraHosts: [{ hostname: "db", ipAddress: "10.0.0.5" }] }), rejectedField("extraHosts")],
  ["rejects links", web({ links: ["db"] }), rejectedField("links")],
  ["rejects systemControls", web({ systemControls: [{ namespace: "net.core.somaxconn", value: "1024" }] }), rejectedField("systemControls")],
  [
    "rejects a GPU resource requirement",
    web({ resourceRequirements: [{ type: "GPU", value: "1" }] }),
    "GPU resource requirements are not supported by Fargate.",
  ],
  ["rejects linuxParameters.maxSwap", web({ linuxParameters: { maxSwap: 1024 } }), rejectedLinux("maxSwap")],
  ["rejects linuxParameters.swappiness", web({ linuxParameters: { swappiness: 10 } }), rejectedLinux("swappiness")],
  ["rejects linuxParameters.devices", web({ linuxParameters: { devices: [{ hostPath: "/dev/fuse" }] } }), rejectedLinux("devices")],
  ["rejects linuxParameters.sharedMemorySize", web({ linuxParameters: { sharedMemorySize: 64 } }), rejectedLinux("sharedMemorySize")],
  ["rejects linuxParameters.tmpfs", web({ linuxParameters: { tmpfs: [{ containerPath: "/tmp", size: 64 }] } }), rejectedLinux("tmpfs")],
  [
    "rejects capabilities other than SYS_PTRACE",
    web({ linuxParameters: { capabilities: { add: ["NET_ADMIN"] } } }),
    "Fargate only supports SYS_PTRACE in linuxParameters.capabilities.add.",
  ],
  // Logging and the execution role.
  [
    "rejects a log driver Fargate does not offer",
    web({ logConfiguration: { logDriver: "json-file" } }),
    "Log driver json-file is not supported by Fargate. Supported log drivers are awslogs, splunk and awsfirelens.",
  ],
  [
    "rejects awslogs without an execution role",
    { executionRoleArn: undefined, ...web({ logConfiguration: { logDriver: "awslogs", options: {} } }) },
    "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
  ], // AWS
  [
    "rejects secrets without an execution role",
    { executionRoleArn: undefined, ...web({ secrets: [{ name: "PASSWORD", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/p" }] }) },
    "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
  ], // AWS
  [
    "rejects log secretOptions without an execution role",
    {
      executionRoleArn: undefined,
      ...web({ logConfiguration: { logDriver: "splunk", options: {}, secretOptions: [{ name: "splunk-token", valueFrom: "/splunk/token" }] } }),
    },
    "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
  ],
  ["rejects a secret whose name would set another variable", web({ secrets: [{ name: "A=B", valueFrom: "/p" }] }), invalid("Secret name 'A=B' is not valid.")],
  [
    "rejects a secret with an empty valueFrom",
    web({ secrets: [{ name: "A", valueFrom: "" }] }),
    invalid("Secret 'A' must have a valueFrom of 1 to 4096 characters."),
  ],
  [
    "rejects a secret with a 4097-character valueFrom",
    web({ secrets: [{ name: "A", valueFrom: "/" + "a".repeat(4096) }] }),
    invalid("Secret 'A' must have a valueFrom of 1 to 4096 characters."),
  ],
  [
    "rejects repositoryCredentials without an execution role",
    { executionRoleArn: undefined, ...web({ repositoryCredentials: { credentialsParameter: "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg" } }) },
    "Private repository authentication requires that the task definition specify a value for executionRoleArn.",
  ], // AWS
  // Health checks.
  [
    "rejects a health check command without CMD or CMD-SHELL",
    withHealthCheck({ command: ["curl", "localhost"] }),
    invalid("The health check command must start with CMD or CMD-SHELL."),
  ],
  [
    "rejects a health check interval of 4 s",
    withHealthCheck({ command: ["CMD", "true"], interval: 4 }),
    invalid("Health check interval must be between 5 and 300 seconds."),
  ],
  [
    "rejects a health check interval of 301 s",
    withHealthCheck({ command: ["CMD", "true"], interval: 301 }),
    invalid("Health check interval must be between 5 and 300 seconds."),
  ],
  [
    "rejects a health check timeout of 1 s",
    withHealthCheck({ command: ["CMD", "true"], timeout: 1 }),
    invalid("Health check timeout must be between 2 and 60 seconds."),
  ],
  [
    "rejects a health check timeout of 61 s",
    withHealthCheck({ command: ["CMD", "true"], timeout: 61 }),
    invalid("Health check timeout must be between 2 and 60 seconds."),
  ],
  ["rejects 0 health check retries", withHealthCheck({ command: ["CMD", "true"], retries: 0 }), invalid("Health check retries must be between 1 and 10.")],
  ["rejects 11 health check retries", withHealthCheck({ command: ["CMD", "true"], retries: 11 }), invalid("Health check retries must be between 1 and 10.")],
  [
    "rejects a health check startPeriod of 301 s",
    withHealthCheck({ command: ["CMD", "true"], startPeriod: 301 }),
    invalid("Health check startPeriod must be between 0 and 300 seconds."),
  ],
  [
    "rejects a negative health check startPeriod",
    withHealthCheck({ command: ["CMD", "true"], startPeriod: -1 }),
    invalid("Health check startPeriod must be between 0 and 300 seconds."),
  ],
  // Timeouts.
  ["rejects a stopTimeout of 1 s", web({ stopTimeout: 1 }), invalid("stopTimeout must be between 2 and 120 seconds.")],
  ["rejects a stopTimeout of 121 s", web({ stopTimeout: 121 }), invalid("stopTimeout must be between 2 and 120 seconds.")],
  ["rejects a startTimeout of 1 s", web({ startTimeout: 1 }), invalid("startTimeout must be between 2 and 120 seconds.")],
  ["rejects a startTimeout of 121 s", web({ startTimeout: 121 }), invalid("startTimeout must be between 2 and 120 seconds.")],
  // dependsOn.
  [
    "rejects a COMPLETE dependency on an essential container",
    {
      containerDefinitions: [
        { name: "a", image: "x" },
        { name: "web", image: "x", dependsOn: [{ containerName: "a", condition: "COMPLETE" }] },
      ],
    },
    invalid("A dependency with condition COMPLETE cannot be on an essential container ('a')."),
  ],
  [
    "rejects a SUCCESS dependency on an essential container",
    {
      containerDefinitions: [
        { name: "a", image: "x" },
        { name: "web", image: "x", dependsOn: [{ containerName: "a", condition: "SUCCESS" }] },
      ],
    },
    invalid("A dependency with condition SUCCESS cannot be on an essential container ('a')."),
  ],
  [
    "rejects a dependency on a container that is not defined",
    web({ dependsOn: [{ containerName: "ghost", condition: "START" }] }),
    invalid("dependsOn references container 'ghost', which is not defined in the task definition."),
  ],
  [
    "rejects a dependency cycle",
    {
      containerDefinitions: [
        { name: "a", image: "x", dependsOn: [{ containerName: "b", condition: "START" }] },
        { name: "b", image: "x", dependsOn: [{ containerName: "a", condition: "START" }] },
      ],
    },
    "Invalid setting for container 'a'. dependsOn forms a cycle: a -> b -> a.",
  ],
  // Ephemeral storage.
  [
    "rejects ephemeral storage of 20 GiB (must be 21–200)",
    { ephemeralStorage: { sizeInGiB: 20 } },
    "The ephemeral storage size must be between 21 GiB and 200 GiB.",
  ],
  ["rejects ephemeral storage of 201 GiB", { ephemeralStorage: { sizeInGiB: 201 } }, "The ephemeral storage size must be between 21 GiB and 200 GiB."],
  // Container sizes and counts.
  [
    "rejects container cpu summing over the task cpu",
    {
      containerDefinitions: [
        { name: "a", image: "x", cpu: 200 },
        { name: "b", image: "x", cpu: 100 },
      ],
    },
    "Invalid setting for container. The sum of container cpu (300) exceeds the task cpu (256).",
  ],
  [
    "rejects container memory summing over the task memory",
    {
      containerDefinitions: [
        { name: "a", image: "x", memory: 300 },
        { name: "b", image: "x", memoryReservation: 300 },
      ],
    },
    "Invalid setting for container. The sum of container memory (600) exceeds the task memory (512).",
  ],
  [
    "rejects a container memory equal to its memoryReservation",
    web({ memory: 256, memoryReservation: 256 }),
    invalid("The 'memory' setting must be greater than the 'memoryReservation' setting."),
  ],
  [
    "rejects eleven containers",
    { containerDefinitions: Array.from({ length: 11 }, (_, i) => ({ name: `c${i}`, image: "busybox" })) },
    "Too many containers. A task definition can have at most 10 containers.",
  ],
  ["rejects a definition without an essential container", web({ essential: false }), "Task definition must contain at least one essential container."],
  ["rejects a container without an image", { containerDefinitions: [{ name: "web" }] }, "Container.image should not be null or empty."], // AWS
  ["rejects an empty container list", { containerDefinitions: [] }, "Container list cannot be empty."],
];
