// The Pulumi Node.js language host: the gRPC bridge the Pulumi engine starts to run a Node.js
// program. Pulumi ships this as a Go program in its own module; the Go module proxy this project
// may use refuses that module at every version, so the project carries this TypeScript
// implementation of the same `pulumirpc.LanguageRuntime` contract. The heavy lifting stays in the
// real SDK: `Run` starts `@pulumi/pulumi/cmd/run`, exactly as Pulumi's own host does.
//
// Contract with the engine: started as `pulumi-language-nodejs [-flags] <engine-address>`, it
// prints the port of its gRPC server on the first line of stdout; everything after that line is
// shown to the user as program output. `RunPlugin` starts plugins written in Node.js, among them
// policy packs (`pulumi preview --policy-pack <dir>`): the engine asks the language host of the
// pack's runtime rather than looking for a `pulumi-analyzer-policy` script beside the CLI.

import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as emptyPbTypes from "google-protobuf/google/protobuf/empty_pb.js";
import type * as languageGrpcTypes from "@pulumi/pulumi/proto/language_grpc_pb.js";
import type * as languagePbTypes from "@pulumi/pulumi/proto/language_pb.js";
import type * as pluginPbTypes from "@pulumi/pulumi/proto/plugin_pb.js";

// The host talks protobuf through the very modules the SDK uses, so message classes match.
const sdkPackageJson = createRequire(import.meta.url).resolve("@pulumi/pulumi/package.json");
const sdkRequire = createRequire(sdkPackageJson);
const grpc = sdkRequire("@grpc/grpc-js") as typeof grpcTypes;
const emptyPb = sdkRequire("google-protobuf/google/protobuf/empty_pb.js") as typeof emptyPbTypes;
const languageGrpc = sdkRequire("./proto/language_grpc_pb.js") as typeof languageGrpcTypes;
const languagePb = sdkRequire("./proto/language_pb.js") as typeof languagePbTypes;
const pluginPb = sdkRequire("./proto/plugin_pb.js") as typeof pluginPbTypes;
const sdkVersion = (JSON.parse(fs.readFileSync(sdkPackageJson, "utf8")) as { version: string }).version;

/** Exit code `cmd/run` uses once it has already shown the user an actionable message. */
const EXIT_AFTER_USER_MESSAGE = 32;
/** The engine sends large resource graphs; Pulumi's own plugins accept 400 MiB messages. */
const MAX_MESSAGE_BYTES = 400 * 1024 * 1024;
/** How deep to look for nested node_modules when listing the provider plugins a program needs. */
const MAX_PLUGIN_SCAN_DEPTH = 6;

interface PackageJson {
  name?: string;
  version?: string;
  main?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  pulumi?: { resource?: boolean; name?: string; version?: string; server?: string };
}

interface PluginRequirement {
  name: string;
  version: string;
  server: string;
}

type ProgramInfo = languagePbTypes.ProgramInfo;

function readPackageJson(file: string): PackageJson | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PackageJson;
  } catch {
    return undefined;
  }
}

/** Finds `command` on PATH, the way a shell would. */
function which(command: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The Node.js binary programs run with: the first `node` on PATH, which the project pins. */
function nodeBinary(): string {
  return which("node") ?? process.execPath;
}

/** Runtime options from `Pulumi.yaml` (`runtime.options`), as plain values. */
function runtimeOptions(info: ProgramInfo | undefined): Record<string, unknown> {
  const options = info?.getOptions()?.toJavaScript();
  return options ?? {};
}

/**
 * Lists the resource provider plugins a program depends on: every package under `node_modules`
 * whose package.json says `"pulumi": { "resource": true }`, as Pulumi's own host reports them.
 */
function requiredPlugins(programDir: string): PluginRequirement[] {
  const found = new Map<string, PluginRequirement>();
  const visit = (nodeModules: string, depth: number): void => {
    if (depth > MAX_PLUGIN_SCAN_DEPTH) return;
    let entries: string[];
    try {
      entries = fs.readdirSync(nodeModules);
    } catch {
      return;
    }
    const packageDirs = entries.flatMap((entry) => {
      if (entry.startsWith(".")) return [];
      const full = path.join(nodeModules, entry);
      if (!entry.startsWith("@")) return [full];
      try {
        return fs.readdirSync(full).map((scoped) => path.join(full, scoped));
      } catch {
        return [];
      }
    });
    for (const dir of packageDirs) {
      const pkg = readPackageJson(path.join(dir, "package.json"));
      if (pkg?.pulumi?.resource && pkg.name) {
        const name = pkg.pulumi.name ?? pkg.name.replace(/^@pulumi\//, "").replace(/^@/, "");
        const rawVersion = pkg.pulumi.version ?? pkg.version ?? "";
        const version = rawVersion.startsWith("v") ? rawVersion : `v${rawVersion}`;
        found.set(`${name}@${version}`, { name, version, server: pkg.pulumi.server ?? "" });
      }
      visit(path.join(dir, "node_modules"), depth + 1);
    }
  };
  visit(path.join(programDir, "node_modules"), 0);
  return [...found.values()];
}

/**
 * Resolves one of the SDK's entry points (`cmd/run`, `cmd/run-plugin`, `cmd/run-policy-pack`) as
 * seen from the program's own directory, so a program or policy pack inside a workspace finds the
 * SDK its dependencies resolve to.
 */
function resolveSdkScript(programDir: string, script = "run"): string {
  const programRequire = createRequire(path.join(programDir, "package.json"));
  try {
    return programRequire.resolve(`@pulumi/pulumi/cmd/${script}`);
  } catch {
    throw new Error(`the Pulumi SDK is not installed in ${programDir}: run "npm install" there first`);
  }
}

/** `KEY=value` entries (the engine's format for a plugin's environment) as an environment object. */
function environmentFrom(entries: string[]): NodeJS.ProcessEnv {
  if (entries.length === 0) return { ...process.env };
  const env: NodeJS.ProcessEnv = {};
  for (const entry of entries) {
    const equals = entry.indexOf("=");
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

/** The plugins (policy packs…) running under this host, stopped when it is. */
const plugins = new Set<ChildProcess>();

interface RunOutcome {
  error: string;
  bail: boolean;
}

class NodeLanguageHost {
  private engineAddress: string;

  constructor(engineAddress: string) {
    this.engineAddress = engineAddress;
  }

  handshake(req: languagePbTypes.LanguageHandshakeRequest): languagePbTypes.LanguageHandshakeResponse {
    this.engineAddress = req.getEngineAddress() || this.engineAddress;
    return new languagePb.LanguageHandshakeResponse();
  }

  requiredPackages(info: ProgramInfo | undefined): languagePbTypes.GetRequiredPackagesResponse {
    const response = new languagePb.GetRequiredPackagesResponse();
    for (const plugin of requiredPlugins(info?.getProgramDirectory() ?? process.cwd())) {
      const dependency = new pluginPb.PackageDependency();
      dependency.setName(plugin.name).setKind("resource").setVersion(plugin.version);
      dependency.setServer(plugin.server);
      response.addPackages(dependency);
    }
    return response;
  }

  requiredPlugins(req: languagePbTypes.GetRequiredPluginsRequest): languagePbTypes.GetRequiredPluginsResponse {
    const response = new languagePb.GetRequiredPluginsResponse();
    const programDir = req.getInfo()?.getProgramDirectory() || req.getPwd() || process.cwd();
    for (const plugin of requiredPlugins(programDir)) {
      const dependency = new pluginPb.PluginDependency();
      dependency.setName(plugin.name).setKind("resource").setVersion(plugin.version);
      dependency.setServer(plugin.server);
      response.addPlugins(dependency);
    }
    return response;
  }

  async run(req: languagePbTypes.RunRequest): Promise<RunOutcome> {
    const info = req.getInfo();
    const programDir = info?.getProgramDirectory() || req.getPwd() || process.cwd();
    const rootDir = info?.getRootDirectory() || programDir;
    const options = runtimeOptions(info);
    const entryPoint = info?.getEntryPoint() || req.getProgram() || ".";

    const args = [resolveSdkScript(programDir)];
    const flag = (name: string, value: string | number | undefined): void => {
      if (value !== undefined && value !== "") args.push(`--${name}=${value}`);
    };
    flag("monitor", req.getMonitorAddress());
    flag("engine", this.engineAddress);
    flag("organization", req.getOrganization());
    flag("project", req.getProject());
    flag("stack", req.getStack());
    flag("pwd", programDir);
    flag("root-directory", rootDir);
    flag("parallel", req.getParallel());
    if (req.getDryrun()) args.push("--dry-run");
    args.push(entryPoint, ...req.getArgsList());

    const nodeArgs = typeof options["nodeargs"] === "string" ? options["nodeargs"].split(/\s+/) : [];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PULUMI_CONFIG: JSON.stringify(Object.fromEntries(req.getConfigMap().entries())),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
      PULUMI_NODEJS_TYPESCRIPT: options["typescript"] === false ? "false" : "true",
    };
    if (typeof options["tsconfig"] === "string") env["PULUMI_NODEJS_TSCONFIG_PATH"] = options["tsconfig"];

    return new Promise<RunOutcome>((resolve) => {
      const child = spawn(nodeBinary(), [...nodeArgs.filter(Boolean), ...args], {
        cwd: programDir,
        env,
        stdio: ["ignore", "inherit", "inherit"],
      });
      child.on("error", (err) =>
        resolve({ error: `could not start the Node.js program: ${err.message}`, bail: false }),
      );
      child.on("exit", (code, signal) => {
        if (code === 0) resolve({ error: "", bail: false });
        else if (code === EXIT_AFTER_USER_MESSAGE) resolve({ error: "", bail: true });
        else if (signal) resolve({ error: `Program exited unexpectedly: ${signal}`, bail: false });
        else resolve({ error: `Program exited with non-zero exit code: ${code}`, bail: false });
      });
    });
  }

  /**
   * Runs a plugin written in Node.js and streams its output back: the engine reads the plugin's
   * gRPC port from the first stdout line, as from any plugin it starts itself. A policy pack
   * (`kind` analyzer) runs under the SDK's `cmd/run-policy-pack` as `<engine-address> <pack>`,
   * any other plugin under `cmd/run-plugin` as `<plugin> <args…>`; both from the plugin's directory,
   * where ts-node finds its tsconfig.json.
   */
  runPlugin(
    call: grpcTypes.ServerWritableStream<languagePbTypes.RunPluginRequest, languagePbTypes.RunPluginResponse>,
  ): void {
    const req = call.request;
    const info = req.getInfo();
    const pluginDir = info?.getProgramDirectory() || req.getPwd() || process.cwd();
    const analyzer = req.getKind() === "analyzer";
    let script: string;
    try {
      script = resolveSdkScript(pluginDir, analyzer ? "run-policy-pack" : "run-plugin");
    } catch (err) {
      call.destroy(Object.assign(err as Error, { code: grpc.status.FAILED_PRECONDITION }));
      return;
    }
    const options = runtimeOptions(info);
    const nodeArgs = typeof options["nodeargs"] === "string" ? options["nodeargs"].split(/\s+/).filter(Boolean) : [];
    const pluginArgs = analyzer ? [...req.getArgsList(), "."] : [".", ...req.getArgsList()];
    const env = environmentFrom(req.getEnvList());
    env["PULUMI_NODEJS_TYPESCRIPT"] = options["typescript"] === false ? "false" : "true";
    if (typeof options["tsconfig"] === "string") env["PULUMI_NODEJS_TSCONFIG_PATH"] = options["tsconfig"];

    const child = spawn(nodeBinary(), [...nodeArgs, script, ...pluginArgs], {
      cwd: pluginDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    plugins.add(child);
    const send = (set: (message: languagePbTypes.RunPluginResponse) => void): void => {
      const message = new languagePb.RunPluginResponse();
      set(message);
      if (!call.cancelled && !call.destroyed) call.write(message);
    };
    child.stdout.on("data", (chunk: Buffer) => send((m) => m.setStdout(chunk)));
    child.stderr.on("data", (chunk: Buffer) => send((m) => m.setStderr(chunk)));
    // The engine stops a plugin by cancelling this call: the plugin goes with it.
    call.on("cancelled", () => child.kill("SIGTERM"));
    child.on("error", (err) => {
      plugins.delete(child);
      call.destroy(Object.assign(err, { code: grpc.status.UNKNOWN }));
    });
    child.on("close", (code, signal) => {
      plugins.delete(child);
      send((m) => m.setExitcode(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
      if (!call.cancelled && !call.destroyed) call.end();
    });
  }

  about(): languagePbTypes.AboutResponse {
    const response = new languagePb.AboutResponse();
    response.setExecutable(nodeBinary());
    response.setVersion(process.version);
    return response;
  }

  programDependencies(
    req: languagePbTypes.GetProgramDependenciesRequest,
  ): languagePbTypes.GetProgramDependenciesResponse {
    const programDir = req.getInfo()?.getProgramDirectory() || req.getPwd() || process.cwd();
    const pkg = readPackageJson(path.join(programDir, "package.json")) ?? {};
    const response = new languagePb.GetProgramDependenciesResponse();
    const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).sort();
    for (const name of names) {
      const installed = readPackageJson(path.join(programDir, "node_modules", name, "package.json"));
      const dependency = new languagePb.DependencyInfo();
      dependency.setName(name).setVersion(installed?.version ?? "not installed");
      response.addDependencies(dependency);
    }
    return response;
  }

  installDependencies(
    req: languagePbTypes.InstallDependenciesRequest,
    call: grpcTypes.ServerWritableStream<
      languagePbTypes.InstallDependenciesRequest,
      languagePbTypes.InstallDependenciesResponse
    >,
  ): void {
    const directory = req.getInfo()?.getProgramDirectory() || req.getDirectory();
    const hasLock = fs.existsSync(path.join(directory, "package-lock.json"));
    const child = spawn("npm", [hasLock ? "ci" : "install", "--no-audit", "--no-fund"], {
      cwd: directory,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const forward = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const message = new languagePb.InstallDependenciesResponse();
      if (stream === "stdout") message.setStdout(chunk);
      else message.setStderr(chunk);
      call.write(message);
    };
    child.stdout.on("data", forward("stdout"));
    child.stderr.on("data", forward("stderr"));
    child.on("error", (err) => call.destroy(err));
    child.on("exit", (code) => {
      if (code === 0) call.end();
      else call.destroy(Object.assign(new Error(`npm exited with code ${code}`), { code: grpc.status.UNKNOWN }));
    });
  }
}

function unimplemented(what: string): grpcTypes.ServiceError {
  return Object.assign(new Error(`${what} is not supported by this language host`), {
    code: grpc.status.UNIMPLEMENTED,
    details: `${what} is not supported by this language host`,
    metadata: new grpc.Metadata(),
  });
}

function unary<Req, Res>(handler: (req: Req) => Res | Promise<Res>): grpcTypes.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (response) => callback(null, response),
        (err: unknown) =>
          callback({
            code: grpc.status.UNKNOWN,
            details: err instanceof Error ? err.message : String(err),
            name: "LanguageHostError",
            message: err instanceof Error ? err.message : String(err),
          }),
      );
  };
}

function main(argv: string[]): void {
  // Flags the engine passes (-tracing, -root, -binary, …) configure features this host does not
  // have; the one positional argument is the engine's address.
  const engineAddress = argv.filter((arg) => !arg.startsWith("-")).at(-1) ?? "";
  const host = new NodeLanguageHost(engineAddress);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });

  const implementation: languageGrpcTypes.ILanguageRuntimeServer = {
    handshake: unary((req) => host.handshake(req)),
    getRequiredPlugins: unary((req) => host.requiredPlugins(req)),
    getRequiredPackages: unary((req) => host.requiredPackages(req.getInfo())),
    run: unary(async (req) => {
      const outcome = await host.run(req);
      const response = new languagePb.RunResponse();
      response.setError(outcome.error).setBail(outcome.bail);
      return response;
    }),
    getPluginInfo: unary(() => new pluginPb.PluginInfo().setVersion(sdkVersion)),
    installDependencies: (call) => host.installDependencies(call.request, call),
    runtimeOptionsPrompts: unary(() => new languagePb.RuntimeOptionsResponse()),
    about: unary(() => host.about()),
    getProgramDependencies: unary((req) => host.programDependencies(req)),
    cancel: unary(() => new emptyPb.Empty()),
    runPlugin: (call) => host.runPlugin(call),
    template: (_call, callback) => callback(unimplemented("Template")),
    generateProgram: (_call, callback) => callback(unimplemented("GenerateProgram")),
    generateProject: (_call, callback) => callback(unimplemented("GenerateProject")),
    generatePackage: (_call, callback) => callback(unimplemented("GeneratePackage")),
    pack: (_call, callback) => callback(unimplemented("Pack")),
    link: (_call, callback) => callback(unimplemented("Link")),
  };
  server.addService(languageGrpc.LanguageRuntimeService, implementation);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`could not start the language host: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${port}\n`);
  });
  // The engine stops plugins with a signal; finish promptly and quietly.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      // Plugins this host started stop with it, never orphaned.
      for (const child of plugins) child.kill("SIGTERM");
      server.tryShutdown(() => process.exit(0));
    });
  }
}

main(process.argv.slice(2));
