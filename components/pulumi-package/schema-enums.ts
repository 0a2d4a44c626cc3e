// The component package's enumerations. The schema's analyzer reads the package's compiled
// declaration files, where only a TypeScript `enum` keeps its members (a union alias or an
// `as const` object loses them), so these are enums, each mirroring one of the library's
// literal unions (test/unit/pulumi-package.test.ts keeps them equal).

/** Where a registry server runs. */
export enum RegistryTarget {
  /** A process on the machine that runs `pulumi up`. */
  Local = "local",
  /** A Deployment in a Kubernetes cluster. */
  Kubernetes = "kubernetes",
  /** An ECS Fargate service on AWS. */
  Aws = "aws",
}

/** The kinds of upstream registry, as Harbor names them. */
export enum RegistryEndpointKind {
  DockerHub = "docker-hub",
  DockerRegistry = "docker-registry",
  Harbor = "harbor",
  GithubGhcr = "github-ghcr",
  Quay = "quay",
  GoogleGcr = "google-gcr",
  AwsEcr = "aws-ecr",
  AzureAcr = "azure-acr",
}

/** What a project robot may do in its project. */
export enum ProjectAction {
  Pull = "pull",
  Push = "push",
  Delete = "delete",
}

/** Whether a robot permission applies to one project or to the whole registry. */
export enum RobotPermissionKind {
  Project = "project",
  System = "system",
}
