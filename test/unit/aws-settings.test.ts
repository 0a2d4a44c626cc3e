// The AWS target's pure functions: the replica check, the whole-declaration check, the subnet
// plan, the security group rules derived from zones and endpoints, the IAM documents and the
// task's containers, called directly as a program's own checks would.

import * as vm from "node:vm";
import { describe, expect, it } from "vitest";
import {
  awsReplicaProblem,
  fargateMemoryFits,
  loadBalancerType,
  validateAwsRegistryArgs,
  type AwsRegistryArgs,
} from "../../components/aws/aws-registry-args";
import { executionRolePolicy, objectArns, taskRolePolicy } from "../../components/aws/iam-policies";
import { databaseUrl } from "../../components/aws/registry-database";
import { loadBalancerProtocols } from "../../components/aws/registry-load-balancer";
import { deriveSecurityRules, type SecurityRuleInputs } from "../../components/aws/security-rules";
import { planSubnets } from "../../components/aws/subnet-plan";
import { PREPARE_SCRIPT, registryContainerDefinitions, TASK_PATHS } from "../../components/aws/task-definition";

const BASE: AwsRegistryArgs = {
  image: "registry.example/airlock-registry:0.1.0",
  region: "eu-west-1",
  availabilityZones: ["eu-west-1a", "eu-west-1b"],
  tls: { certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/1" },
  loadBalancer: { hostName: "registry.dmz.example" },
};

function problems(args: Partial<AwsRegistryArgs>): string {
  try {
    validateAwsRegistryArgs({ ...BASE, ...args });
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

describe("awsReplicaProblem", () => {
  it.each([
    [1, "ephemeral", "sqlite", false],
    [1, "s3", "rds", false],
    [3, "s3", "rds", false],
    [3, "s3", "postgres", false],
    [2, "s3", "sqlite", true],
    [2, "ephemeral", "rds", true],
    [0, "s3", "rds", true],
    [1.5, "s3", "rds", true],
  ] as const)("%d tasks, storage %s, metadata %s: refused %s", (replicas, storage, metadata, refused) => {
    expect(awsReplicaProblem(replicas, storage, metadata) !== undefined).toBe(refused);
  });
});

describe("validateAwsRegistryArgs", () => {
  it("accepts the defaults: S3, RDS, an internal ALB with ACM, one task", () => {
    expect(problems({})).toBe("");
    expect(loadBalancerType(BASE)).toBe("application");
    expect(loadBalancerType({ ...BASE, tls: {} })).toBe("network");
  });

  it("names every problem at once", () => {
    const message = problems({
      replicas: 2,
      storage: { type: "ephemeral", sizeGiB: 500 },
      availabilityZones: ["eu-west-1a"],
      cpu: 1000,
      tls: {},
      loadBalancer: { hostName: "not a host", type: "application", zone: "production", internal: false },
      logRetentionDays: 10,
      metadata: { type: "postgres", url: "postgres://db", cidrs: [] },
    });
    for (const expected of [
      "replicas: 2 tasks need shared backends",
      "availabilityZones: expected two or more",
      "cpu: expected one of",
      "storage.sizeGiB: expected 21 to 200",
      "metadata.cidrs: the registry needs the database's CIDRs",
      "loadBalancer.hostName",
      "an application load balancer serves HTTPS with an ACM certificate",
      "a load balancer in the production zone must be internal",
      "logRetentionDays",
    ]) {
      expect(message).toContain(expected);
    }
  });

  it("refuses an upstream reached directly without its CIDRs, or the proxy without its", () => {
    expect(
      problems({
        upstreams: [
          { name: "quay", url: "https://quay.io" },
          { name: "direct", url: "https://registry.customer.example" },
        ],
        upstream: { httpsProxy: "http://proxy.corp:3128", noProxy: ".customer.example" },
      }),
    ).toMatch(/zones\.internet\.endpoints\.direct: .* reached directly[\s\S]*zones\.proxy\.egressProxyCidrs/);
  });

  it("checks Fargate's CPU and memory pairs", () => {
    expect(fargateMemoryFits(256, 512)).toBe(true);
    expect(fargateMemoryFits(256, 4096)).toBe(false);
    expect(fargateMemoryFits(1024, 3072)).toBe(true);
    expect(fargateMemoryFits(1024, 1024)).toBe(false);
    expect(fargateMemoryFits(8192, 20480)).toBe(true);
    expect(fargateMemoryFits(8192, 17408)).toBe(false);
  });
});

describe("planSubnets", () => {
  it("cuts the VPC into a subnet per zone and availability zone, in a fixed order", () => {
    expect(planSubnets("10.80.0.0/16", ["a", "b"])).toEqual([
      { zone: "ingress", availabilityZone: "a", cidr: "10.80.0.0/19" },
      { zone: "ingress", availabilityZone: "b", cidr: "10.80.32.0/19" },
      { zone: "proxy", availabilityZone: "a", cidr: "10.80.64.0/19" },
      { zone: "proxy", availabilityZone: "b", cidr: "10.80.96.0/19" },
      { zone: "production", availabilityZone: "a", cidr: "10.80.128.0/19" },
      { zone: "production", availabilityZone: "b", cidr: "10.80.160.0/19" },
    ]);
    expect(planSubnets("192.168.0.0/20", ["a", "b", "c"]).map((s) => s.cidr)).toContain("192.168.8.0/24");
  });

  it("refuses a range too small, misaligned or not IPv4", () => {
    expect(() => planSubnets("10.0.0.0/22", ["a", "b", "c"])).toThrow(/too small for 9 subnets/);
    expect(() => planSubnets("10.0.0.1/16", ["a", "b"])).toThrow(/not aligned/);
    expect(() => planSubnets("fd00::/48", ["a", "b"])).toThrow(/IPv4 CIDR/);
  });
});

describe("deriveSecurityRules", () => {
  const inputs: SecurityRuleInputs = {
    listenerPort: 443,
    containerPort: 5443,
    pullerCidrs: ["10.80.128.0/19"],
    upstreams: [
      { name: "dockerhub", url: "https://hub.docker.com" },
      { name: "partner", url: "https://registry.partner.example:8443" },
    ],
    endpointCidrs: { partner: ["198.51.100.0/28"] },
    egress: { httpsProxy: "http://proxy.corp:3128", noProxy: "registry.partner.example" },
    egressProxyCidrs: ["10.1.2.3/32"],
    database: { type: "external", cidrs: ["10.9.0.0/24"], port: 6432 },
    interfaceEndpoints: false,
  };

  it("derives one path per direct upstream (on its port), one per proxy, and the fixed paths", () => {
    expect(deriveSecurityRules(inputs).map((r) => `${r.name} ${r.direction} ${r.port}`)).toEqual([
      "load-balancer-ingress-production ingress 443",
      "load-balancer-egress-registry egress 5443",
      "registry-ingress-load-balancer ingress 5443",
      "registry-egress-upstream-partner egress 8443",
      "registry-egress-proxy-proxy-corp-3128 egress 3128",
      "registry-egress-s3 egress 443",
      "registry-egress-database egress 6432",
    ]);
  });

  it("lets nothing reach into the production zone but the database, and only the production zone pull", () => {
    const rules = deriveSecurityRules({ ...inputs, database: { type: "rds", port: 5432 } });
    const intoProduction = rules.filter((r) => r.direction === "egress" && r.zone === "production");
    expect(intoProduction.map((r) => r.peer)).toEqual([{ group: "database" }]);
    const fromOutside = rules.filter((r) => r.direction === "ingress" && "cidrs" in r.peer);
    expect(fromOutside.map((r) => [r.group, r.zone, r.port])).toEqual([["loadBalancer", "production", 443]]);
  });

  it("names an endpoint's CIDRs declared for no upstream", () => {
    expect(() =>
      deriveSecurityRules({ ...inputs, endpointCidrs: { ...inputs.endpointCidrs, typo: ["1.2.3.4/32"] } }),
    ).toThrow(/zones\.internet\.endpoints\.typo: no upstream registry endpoint or webhook target has that name/);
  });
});

describe("IAM documents", () => {
  it("limit the server to its objects and the ECS agent to its secrets", () => {
    expect(objectArns("arn:aws:s3:::b", undefined)).toBe("arn:aws:s3:::b/*");
    const task = taskRolePolicy({ bucketArn: "arn:aws:s3:::b", prefix: "p/q", kmsKeyArn: "arn:aws:kms:r:1:key/k" });
    expect(task.Statement.flatMap((s) => s.Action).sort()).toEqual([
      "kms:Decrypt",
      "kms:GenerateDataKey",
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
    ]);
    expect(task.Statement.find((s) => s.Sid === "Blobs")?.Resource).toBe("arn:aws:s3:::b/p/q/*");
    const execution = executionRolePolicy({ logGroupArn: "arn:lg", secretArns: ["arn:s1", "arn:s2"] });
    expect(execution.Statement.map((s) => s.Sid)).toEqual(["Logs", "Secrets"]);
  });
});

describe("the task's containers", () => {
  const containers = registryContainerDefinitions({
    image: "img",
    port: 5443,
    region: "eu-west-1",
    logGroupName: "lg",
    configYaml: "dataDir: /var/lib/airlock\n",
    tlsCertificatePem: "CERT",
    databaseCaPem: "RDS-CA",
    secrets: { adminPassword: "arn:a", tlsKey: "arn:t", tokenSigningKey: "arn:k:t::", secretBoxKey: "arn:k:s::" },
  });

  it("prepare writes every file the server reads, then the server starts as its user", () => {
    const [prepare, server] = containers;
    expect(prepare?.environment.map((e) => e.name)).toEqual([
      "AIRLOCK_PREPARE_CONFIG",
      "AIRLOCK_PREPARE_TLS_CERT",
      "AIRLOCK_PREPARE_DATABASE_CA",
    ]);
    for (const path of [TASK_PATHS.config, TASK_PATHS.tlsCert, TASK_PATHS.tlsKey, TASK_PATHS.tokenSigningKey]) {
      expect(PREPARE_SCRIPT).toContain(path);
    }
    expect(server?.user).toBe("1000:1000");
    expect(server?.secrets).toEqual([{ name: "AIRLOCK_ADMIN_PASSWORD", valueFrom: "arn:a" }]);
  });

  it("the prepare script is valid JavaScript", () => {
    // Compiled, never run: a syntax error would only show in a task's logs.
    expect(() => new vm.Script(PREPARE_SCRIPT)).not.toThrow();
  });
});

describe("the database URL and the load balancer's protocols", () => {
  it("verifies the RDS certificate when the CA bundle is given, encrypts without it", () => {
    expect(databaseUrl("db.example", 5432, "p@ss", true)).toBe(
      "postgres://airlock:p%40ss@db.example:5432/airlock?sslmode=verify-full&sslrootcert=%2Fetc%2Fairlock%2Fdatabase-ca.pem",
    );
    expect(databaseUrl("db.example", 5432, "p", false)).toContain("uselibpqcompat=true&sslmode=require");
  });

  it("keep TLS on both hops", () => {
    expect(loadBalancerProtocols("application", true)).toEqual({ listener: "HTTPS", target: "HTTPS" });
    expect(loadBalancerProtocols("network", true)).toEqual({ listener: "TLS", target: "TLS" });
    expect(loadBalancerProtocols("network", false)).toEqual({ listener: "TCP", target: "TCP" });
  });
});
