// How many worker processes a container's server runs: one per whole CPU its limit grants, at
// least one. Left to itself the server forks one per CPU it sees (os.availableParallelism()),
// and inside a container that may be the node's count or the cgroup quota rounded some way,
// depending on the cgroup version and the libuv release: a pod limited to two CPUs on a 64-CPU
// node must not fork 64 servers into its memory limit. So the container targets write `workers`
// from the limit they set; the local target leaves it to the server (the machine is its own).

/** The server's ceiling (registry-server/src/config.ts MAX_WORKERS): a larger value is refused. */
export const MAX_WORKERS = 256;

/** Kubernetes quantity suffixes and what they multiply by; millicores (`m`) divide by 1000. */
const MULTIPLIERS: Record<string, number> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};
const CPU_QUANTITY = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/;

function workersFor(cpus: number): number {
  return Math.min(MAX_WORKERS, Math.max(1, Math.floor(cpus)));
}

/**
 * Workers for a Kubernetes CPU limit: `"2"` → 2, `"1500m"` → 1, `"500m"` → 1. A part of a CPU
 * serves no worker of its own: it is headroom for the primary process and the garbage collector.
 * @throws Error when the limit is not a quantity (the settings' check refuses it before)
 */
export function workersForCpuLimit(limit: string): number {
  const match = CPU_QUANTITY.exec(limit);
  if (!match) throw new Error(`not a CPU quantity: ${JSON.stringify(limit)}`);
  const value = Number(match[1]);
  const suffix = match[2];
  if (suffix === "m") return workersFor(value / 1000);
  return workersFor(suffix === undefined ? value : value * (MULTIPLIERS[suffix] ?? Number.NaN));
}

/** Workers for an ECS task's CPU units (1024 units are one vCPU): 256 → 1, 1024 → 1, 4096 → 4. */
export function workersForTaskCpu(cpuUnits: number): number {
  return workersFor(cpuUnits / 1024);
}
