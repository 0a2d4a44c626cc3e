// The AWS target's resource graph under Pulumi's mocks (no engine, no AWS account, no provider
// plugin): the security group rules for a given set of zones and endpoints, the S3 bucket's
// settings, the IAM policies' actions and resources, the task definition's containers, the load
// balancer, and the checks refusing a shape before anything is declared.

import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { RegistryServer } from "../../components/registry-server";
import { registryServerArgs } from "../../components/stack-targets";
import { AwsRegistry } from "../../components/aws/aws-registry";
import { AwsRegistryError, type AwsRegistryArgs } from "../../components/aws/aws-registry-args";
import type { PolicyDocument } from "../../components/aws/iam-policies";
import { awsRegistryArgs } from "../../components/aws/aws-stack-target";
import type { ContainerDefinition } from "../../components/aws/task-definition";
import { parseStackConfig } from "../../components/stack-config";
import { publicProductionLoadBalancer } from "../../policy/rules/no-public-production-load-balancer";
import type { PolicySubject } from "../../policy/rules/policy-subject";
import { replicasWithoutSharedState } from "../../policy/rules/replicas-need-shared-state";
import { withoutTls } from "../../policy/rules/tls-everywhere";
import { type Registered, outputOf, plain, settled } from "./mocked-resources";

let registered: Registered[] = [];
const ACCOUNT = "123456789012";

function all<T = Record<string, unknown>>(type: string): Array<T & { name: string }> {
  return registered.filter((r) => r.type === type).map((r) => ({ ...(plain(r.inputs) as T), name: r.name }));
}

function one<T = Record<string, unknown>>(type: string): T & { name: string } {
  const found = all<T>(type);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one ${type}, got ${found.length}`);
  return found[0];
}

/** The ARNs and names AWS would give, so policies and references can be read. */
function providerOutputs(type: string, name: string): Record<string, unknown> {
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { bucket: `${name}-x1`, arn: `arn:aws:s3:::${name}-x1` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { name: `${name}-x1`, arn: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:${name}-x1` };
    case "aws:secretsmanager/secret:Secret":
      return { arn: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}-AbCdEf` };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT}:role/${name}` };
    case "aws:ec2/vpcEndpoint:VpcEndpoint":
      return { prefixListId: "pl-6ca54005" };
    case "aws:rds/instance:Instance":
      return { address: `${name}.abc.eu-west-1.rds.amazonaws.com`, port: 5432 };
    case "aws:lb/loadBalancer:LoadBalancer":
      return { arn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/${name}`, dnsName: `${name}.elb` };
    case "aws:lb/targetGroup:TargetGroup":
      return { arn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/${name}` };
    case "pulumi-nodejs:dynamic/tls:CertificateAuthority":
      return { certPem: "CA-PEM", keyPem: "CA-KEY" };
    case "pulumi-nodejs:dynamic/tls:TlsCertificate":
      return { certPem: "CERT-PEM", keyPem: "CERT-KEY" };
    case "pulumi-nodejs:dynamic/secrets:GeneratedPassword":
      return { value: `generated-${name}` };
    case "pulumi-nodejs:dynamic/secrets:ServerKeys":
      return { tokenSigningKeyPem: "EC-KEY", secretBoxKey: "BOX\n" };
    default:
      return {};
  }
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs });
        return { id: `${args.name}-id`, state: { ...inputs, ...providerOutputs(args.type, args.name) } };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    "airlock",
    "unit",
    false,
  );
});

beforeEach(() => {
  registered = [];
});

const IMAGE = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/airlock-registry@sha256:${"a".repeat(64)}`;

/** The DMZ guide's declaration: Docker Hub and Quay through the corporate proxy, a customer's registry directly. */
function dmzArgs(overrides: Partial<AwsRegistryArgs> = {}): AwsRegistryArgs {
  return {
    image: IMAGE,
    imageRepositoryArn: `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/airlock-registry`,
    region: "eu-west-1",
    availabilityZones: ["eu-west-1a", "eu-west-1b"],
    replicas: 2,
    storage: { type: "s3", prefix: "registry" },
    metadata: { type: "rds" },
    tls: { certificateArn: `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/1234` },
    loadBalancer: { hostName: "registry.dmz.example" },
    upstreams: [
      { name: "dockerhub", url: "https://hub.docker.com" },
      { name: "quay", url: "https://quay.io" },
      { name: "customer-a", url: "https://registry.customer-a.com" },
    ],
    upstream: { httpsProxy: "http://proxy.dmz.internal:3128", noProxy: ".customer-a.com" },
    zones: {
      internet: { endpoints: { "customer-a": ["203.0.113.10/32"] } },
      proxy: { egressProxyCidrs: ["10.20.0.10/32"] },
      production: { cidrs: ["10.30.0.0/16"] },
    },
    ...overrides,
  };
}

interface RuleInputs {
  name: string;
  securityGroupId: string;
  fromPort: number;
  toPort: number;
  ipProtocol: string;
  cidrIpv4?: string;
  referencedSecurityGroupId?: string;
  prefixListId?: string;
}

/** Every rule resource as `direction group port peer`, its component's name stripped. */
function ruleLines(prefix: string): string[] {
  const describe = (direction: string) => (rule: RuleInputs) => {
    const group = rule.securityGroupId.replace(`${prefix}-`, "").replace(/-id$/, "");
    const peer =
      rule.cidrIpv4 ??
      rule.prefixListId ??
      `sg:${(rule.referencedSecurityGroupId ?? "").replace(`${prefix}-`, "").replace(/-id$/, "")}`;
    return `${direction} ${group} ${rule.fromPort} ${peer}`;
  };
  return [
    ...all<RuleInputs>("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(describe("in")),
    ...all<RuleInputs>("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map(describe("out")),
  ].sort();
}

describe("AwsRegistry", () => {
  it("opens exactly the DMZ's paths: production pulls through the load balancer, the tasks reach the proxy, one direct upstream, S3, the endpoints and the database", async () => {
    const registry = new AwsRegistry("r", dmzArgs());
    await outputOf(registry.connection);
    await settled(registered);

    // The production subnets of the VPC (planSubnets: ingress, proxy, production; /19 each) and the declared network.
    expect(ruleLines("r")).toEqual(
      [
        "in database 5432 sg:registry",
        "in endpoints 443 sg:registry",
        "in loadBalancer 443 10.30.0.0/16",
        "in loadBalancer 443 10.80.128.0/19",
        "in loadBalancer 443 10.80.160.0/19",
        "in registry 5443 sg:loadBalancer",
        "out loadBalancer 5443 sg:registry",
        "out registry 3128 10.20.0.10/32",
        "out registry 443 203.0.113.10/32",
        "out registry 443 pl-6ca54005",
        "out registry 443 sg:endpoints",
        "out registry 5432 sg:database",
      ].sort(),
    );
    for (const rule of [
      ...all<RuleInputs>("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
      ...all<RuleInputs>("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"),
    ]) {
      expect(rule.ipProtocol).toBe("tcp");
      expect(rule.fromPort).toBe(rule.toPort);
    }
    // No group carries inline rules, so AWS's default allow-all egress is gone.
    for (const group of all("aws:ec2/securityGroup:SecurityGroup")) {
      expect(group["egress"]).toBeUndefined();
      expect(group["ingress"]).toBeUndefined();
    }
    // The production zone has no route out; the proxy zone goes out through the NAT (a direct upstream).
    const routes = Object.fromEntries(
      all<{ routes: Array<Record<string, string>> }>("aws:ec2/routeTable:RouteTable").map((t) => [t.name, t.routes]),
    );
    expect(routes["r-production"]).toEqual([]);
    expect(routes["r-proxy"]).toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: "r-nat-id" }]);
    expect(all("aws:ec2/subnet:Subnet").every((subnet) => subnet["mapPublicIpOnLaunch"] === false)).toBe(true);
  });

  it("opens exactly one more path for one more upstream reached directly, and none for one more through the proxy", async () => {
    new AwsRegistry("before", dmzArgs());
    await settled(registered);
    const before = ruleLines("before");
    registered = [];
    const withDirect = dmzArgs();
    withDirect.upstreams = [
      ...(withDirect.upstreams ?? []),
      { name: "customer-b", url: "https://registry.customer-b.com" },
    ];
    withDirect.upstream = { ...withDirect.upstream, noProxy: ".customer-a.com,.customer-b.com" };
    withDirect.zones = {
      ...withDirect.zones,
      internet: { endpoints: { "customer-a": ["203.0.113.10/32"], "customer-b": ["198.51.100.7/32"] } },
    };
    new AwsRegistry("direct", withDirect);
    await settled(registered);
    const direct = ruleLines("direct");
    expect(direct.filter((line) => !before.includes(line))).toEqual(["out registry 443 198.51.100.7/32"]);
    expect(before.filter((line) => !direct.includes(line))).toEqual([]);

    registered = [];
    const viaProxy = dmzArgs();
    viaProxy.upstreams = [...(viaProxy.upstreams ?? []), { name: "ghcr", url: "https://ghcr.io" }];
    new AwsRegistry("proxied", viaProxy);
    await settled(registered);
    expect(ruleLines("proxied")).toEqual(before);
  });

  it("keeps blobs in a private, encrypted, versioned bucket that aborts abandoned uploads and refuses plain HTTP", async () => {
    new AwsRegistry("r", dmzArgs());
    await settled(registered);
    expect(one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")["rule"]).toEqual({
      objectOwnership: "BucketOwnerEnforced",
    });
    expect(
      one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"],
    ).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
    expect(one("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]).toEqual({ status: "Enabled" });
    const lifecycle = one<{ rules: Array<Record<string, unknown>> }>(
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    );
    expect(lifecycle.rules).toContainEqual(
      expect.objectContaining({
        id: "abort-incomplete-multipart-uploads",
        status: "Enabled",
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      }),
    );
    expect(lifecycle.rules).toContainEqual(
      expect.objectContaining({ noncurrentVersionExpiration: { noncurrentDays: 30 } }),
    );
    const policy = JSON.parse(one<{ policy: string }>("aws:s3/bucketPolicy:BucketPolicy").policy) as PolicyDocument;
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: "Deny",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
        Resource: ["arn:aws:s3:::r-blobs-x1", "arn:aws:s3:::r-blobs-x1/*"],
      }),
    ]);
    // With a KMS key: SSE-KMS with bucket keys, and the task may use that key.
    registered = [];
    const kmsKeyArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0000`;
    new AwsRegistry("k", dmzArgs({ kmsKeyArn }));
    await settled(registered);
    expect(
      one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"],
    ).toEqual([
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
        bucketKeyEnabled: true,
      },
    ]);
  });

  it("gives the server its bucket's objects under its prefix and nothing else, and the ECS agent the image, the log stream and the task's secrets", async () => {
    new AwsRegistry("r", dmzArgs());
    await settled(registered);
    const policies = Object.fromEntries(
      all<{ policy: string }>("aws:iam/rolePolicy:RolePolicy").map((p) => [
        p.name,
        JSON.parse(p.policy) as PolicyDocument,
      ]),
    );
    expect(policies["r-task"]?.Statement.map((s) => [s.Effect, s.Action, s.Resource])).toEqual([
      ["Allow", ["s3:ListBucket"], "arn:aws:s3:::r-blobs-x1"],
      [
        "Allow",
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        "arn:aws:s3:::r-blobs-x1/registry/*",
      ],
    ]);
    const secretArns = all("aws:secretsmanager/secret:Secret")
      .map((s) => `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${s.name}-AbCdEf`)
      .sort();
    expect(secretArns.length).toBe(4);
    const execution = policies["r-execution"]?.Statement ?? [];
    expect(execution.map((s) => [s.Sid, s.Action])).toEqual([
      ["Logs", ["logs:CreateLogStream", "logs:PutLogEvents"]],
      ["Secrets", ["secretsmanager:GetSecretValue"]],
      ["RegistryLogin", ["ecr:GetAuthorizationToken"]],
      ["Image", ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]],
    ]);
    expect([...((execution[1]?.Resource as string[]) ?? [])].sort()).toEqual(secretArns);
    expect(execution[0]?.Resource).toBe(`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:r-logs-x1:*`);
    expect(execution[3]?.Resource).toBe(`arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/airlock-registry`);
    // Only the registry login may name every resource: AWS takes nothing else for it.
    for (const statement of [...(policies["r-task"]?.Statement ?? []), ...execution]) {
      if (statement.Resource === "*") expect(statement.Action).toEqual(["ecr:GetAuthorizationToken"]);
    }
    expect(all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
  });

  it("runs the server non-root on a read-only root filesystem, probed, its secrets from Secrets Manager only", async () => {
    const registry = new AwsRegistry("r", dmzArgs());
    const password = await outputOf(registry.adminPassword);
    await settled(registered);
    const task = one<{ containerDefinitions: string; cpu: string; memory: string; requiresCompatibilities: string[] }>(
      "aws:ecs/taskDefinition:TaskDefinition",
    );
    expect(task).toMatchObject({ cpu: "1024", memory: "2048", requiresCompatibilities: ["FARGATE"] });
    expect(task.containerDefinitions).not.toContain(password);
    expect(task.containerDefinitions).not.toContain("CERT-KEY");
    const [prepare, server] = JSON.parse(task.containerDefinitions) as ContainerDefinition[];
    expect(server).toMatchObject({
      name: "registry",
      essential: true,
      user: "1000:1000",
      readonlyRootFilesystem: true,
      command: ["serve", "--config", "/etc/airlock/config.yaml"],
      portMappings: [{ containerPort: 5443, protocol: "tcp", name: "https" }],
      dependsOn: [{ containerName: "prepare", condition: "SUCCESS" }],
      linuxParameters: { capabilities: { drop: ["ALL"] }, initProcessEnabled: true },
    });
    expect(server?.healthCheck?.command.join(" ")).toContain("/api/v2.0/ping");
    expect(server?.healthCheck).toMatchObject({ retries: 3, startPeriod: 120 });
    expect(server?.mountPoints).toContainEqual({ sourceVolume: "etc", containerPath: "/etc/airlock", readOnly: true });
    expect(server?.secrets.map((s) => s.name)).toEqual(["AIRLOCK_ADMIN_PASSWORD", "AIRLOCK_DATABASE_URL"]);
    expect(server?.environment).toEqual([]);
    expect(server?.logConfiguration).toEqual({
      logDriver: "awslogs",
      options: { "awslogs-group": "r-logs-x1", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "registry" },
    });
    expect(prepare).toMatchObject({ name: "prepare", essential: false, user: "0", readonlyRootFilesystem: true });
    expect(prepare?.linuxParameters.capabilities.drop).not.toContain("CHOWN");
    expect(prepare?.secrets.map((s) => s.valueFrom.replace(/arn:.*:secret:r-/, ""))).toEqual([
      "tls-key-AbCdEf",
      "server-keys-AbCdEf:tokenSigningKeyPem::",
      "server-keys-AbCdEf:secretBoxKey::",
    ]);
    const config = parse(prepare?.environment.find((e) => e.name === "AIRLOCK_PREPARE_CONFIG")?.value ?? "") as {
      http: { addr: string; tls: unknown };
      workers: number;
      storage: unknown;
      upstream: unknown;
    };
    // 1024 CPU units: one vCPU, one worker, whatever the host under Fargate has.
    expect(config.workers).toBe(1);
    // The ALB connects from the ingress zone's subnets and appends the client to X-Forwarded-For.
    expect(registry.network.subnetCidrs.ingress).toHaveLength(2);
    expect(config.http).toEqual({
      addr: "0.0.0.0:5443",
      tls: { certFile: "/etc/airlock/tls/tls.crt", keyFile: "/etc/airlock/tls/tls.key" },
      shutdownTimeoutSeconds: 30,
      trustedProxies: registry.network.subnetCidrs.ingress,
    });
    expect(config.storage).toEqual({ s3: { bucket: "r-blobs-x1", region: "eu-west-1", prefix: "registry" } });
    expect(config.upstream).toEqual({ httpsProxy: "http://proxy.dmz.internal:3128", noProxy: ".customer-a.com" });

    const service = one<{ desiredCount: number; tags: Record<string, string>; networkConfiguration: unknown }>(
      "aws:ecs/service:Service",
    );
    expect(service.desiredCount).toBe(2);
    expect(service.tags).toMatchObject({
      "airlock:component": "registry",
      "airlock:storage": "s3",
      "airlock:metadata": "postgres",
    });
    expect(service.networkConfiguration).toMatchObject({ assignPublicIp: false });
  });

  it("ends TLS at an internal ALB with the ACM certificate and again at the task, or passes TCP through an NLB to the task's own", async () => {
    new AwsRegistry("r", dmzArgs());
    await settled(registered);
    expect(one("aws:lb/loadBalancer:LoadBalancer")).toMatchObject({
      loadBalancerType: "application",
      internal: true,
      dropInvalidHeaderFields: true,
      tags: { "airlock:zone": "ingress" },
    });
    expect(one("aws:lb/listener:Listener")).toMatchObject({
      port: 443,
      protocol: "HTTPS",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      certificateArn: `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/1234`,
    });
    expect(one("aws:lb/targetGroup:TargetGroup")).toMatchObject({
      protocol: "HTTPS",
      targetType: "ip",
      healthCheck: { protocol: "HTTPS", path: "/api/v2.0/health", matcher: "200" },
    });

    registered = [];
    const registry = new AwsRegistry("n", dmzArgs({ tls: {} }));
    const ca = await outputOf(registry.caCertPem);
    await settled(registered);
    expect(ca).toBe("CA-PEM");
    expect(one("aws:lb/loadBalancer:LoadBalancer")).toMatchObject({ loadBalancerType: "network", internal: true });
    expect(one("aws:lb/listener:Listener")).toMatchObject({ protocol: "TCP", tags: { "airlock:tls": "passthrough" } });
    expect(one("aws:lb/targetGroup:TargetGroup")).toMatchObject({
      protocol: "TCP",
      tags: { "airlock:tls": "passthrough" },
    });
    // An NLB adds no X-Forwarded-For and passes a client's own through: the server trusts none.
    const task = one<{ containerDefinitions: string }>("aws:ecs/taskDefinition:TaskDefinition");
    const [prepare] = JSON.parse(task.containerDefinitions) as ContainerDefinition[];
    const config = parse(prepare?.environment.find((e) => e.name === "AIRLOCK_PREPARE_CONFIG")?.value ?? "") as {
      http: Record<string, unknown>;
    };
    expect(config.http["trustedProxies"]).toBeUndefined();
  });

  it("is what RegistryServer deploys for the stack's `aws` target, with the same outputs as the others", async () => {
    const document = parse(readFileSync(path.join(__dirname, "..", "..", "Pulumi.aws-dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const registries = (document.config["airlock:registries"] as Array<Record<string, unknown>>).map(
      ({ credential: _credential, ...registry }) => registry,
    );
    const { config } = parseStackConfig({
      "airlock:target": "aws",
      "airlock:aws": JSON.stringify(document.config["airlock:aws"]),
      "airlock:upstream": JSON.stringify(document.config["airlock:upstream"]),
      "airlock:registries": JSON.stringify(registries),
    });
    const server = new RegistryServer("registry", registryServerArgs(config, "/unused"));
    expect(server.target).toBe("aws");
    expect(server.aws).toBeDefined();
    expect(server.local).toBeUndefined();
    expect(await outputOf(server.url)).toBe("https://registry.dmz.example.com");
    expect(await pulumi.isSecret(server.adminPassword)).toBe(true);
    await settled(registered);
    expect(registered.map((r) => r.type)).toEqual(
      expect.arrayContaining(["airlock:server:RegistryServer", "airlock:aws:AwsRegistry", "aws:ecs/service:Service"]),
    );
  });

  it("builds the sample stack Pulumi.aws-dmz.yaml, whose resources keep every rule of the DMZ policy pack", async () => {
    const document = parse(readFileSync(path.join(__dirname, "..", "..", "Pulumi.aws-dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    // The deployment's keys; the upstreams without their credentials, which are set per installation.
    const registries = (document.config["airlock:registries"] as Array<Record<string, unknown>>).map(
      ({ credential: _credential, ...registry }) => registry,
    );
    const entries = {
      "airlock:target": "aws",
      "airlock:aws": JSON.stringify(document.config["airlock:aws"]),
      "airlock:upstream": JSON.stringify(document.config["airlock:upstream"]),
      "airlock:registries": JSON.stringify(registries),
    };
    const { config } = parseStackConfig(entries);
    const registry = new AwsRegistry("registry", awsRegistryArgs(config));
    expect(await outputOf(registry.url)).toBe("https://registry.dmz.example.com");
    await settled(registered);
    expect(all("aws:ec2/subnet:Subnet")).toHaveLength(9);
    expect(all("aws:rds/instance:Instance")[0]).toMatchObject({
      multiAz: true,
      publiclyAccessible: false,
      storageEncrypted: true,
    });

    const subjects: PolicySubject[] = registered.map((r) => ({
      type: r.type,
      name: r.name,
      props: plain(r.inputs) as Record<string, unknown>,
    }));
    const found = [
      ...subjects.flatMap((subject) => [...publicProductionLoadBalancer(subject), ...withoutTls(subject)]),
      ...replicasWithoutSharedState(subjects).map((v) => v.message),
    ];
    expect(found).toEqual([]);
    // And the pack would catch the service had its tags said otherwise.
    const service = subjects.find((subject) => subject.type === "aws:ecs/service:Service");
    expect(
      service &&
        replicasWithoutSharedState([
          {
            ...service,
            props: { ...service.props, tags: { ...(service.props["tags"] as object), "airlock:metadata": "sqlite" } },
          },
        ]),
    ).toHaveLength(1);
  });

  it("refuses several tasks without shared backends, and a public load balancer in the production zone, declaring nothing", () => {
    expect(() => new AwsRegistry("r", dmzArgs({ storage: { type: "ephemeral" } }))).toThrow(AwsRegistryError);
    expect(() => new AwsRegistry("r", dmzArgs({ metadata: { type: "sqlite" } }))).toThrow(
      /2 tasks need shared backends, storage "s3" and metadata "rds" or "postgres"/,
    );
    expect(
      () =>
        new AwsRegistry(
          "r",
          dmzArgs({ loadBalancer: { hostName: "registry.dmz.example", zone: "production", internal: false } }),
        ),
    ).toThrow(/production zone must be internal/);
    expect(registered).toEqual([]);
  });
});
