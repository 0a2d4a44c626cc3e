// How the VPC's range is cut into subnets: one per DMZ zone and availability zone, all the same
// size, in a fixed order (ingress, proxy, production; zones in the order given), so that adding
// nothing moves nothing. Pure IPv4 arithmetic, no library.

import { isIP } from "node:net";
import { AWS_ZONES, type AwsZone } from "./aws-tags";

export interface PlannedSubnet {
  zone: AwsZone;
  availabilityZone: string;
  cidr: string;
}

/** The smallest subnet AWS allows is a /28; keep room for real workloads with at least a /24. */
const SMALLEST_PREFIX = 24;

function toNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/**
 * The subnets of a VPC with range `vpcCidr` over the given availability zones: the range is cut
 * into equal blocks, enough for every zone in every availability zone (rounded up to a power of
 * two), each at most a /24. Throws when the range is too small or not an IPv4 CIDR.
 */
export function planSubnets(vpcCidr: string, availabilityZones: string[]): PlannedSubnet[] {
  const [address = "", prefixText = ""] = vpcCidr.split("/");
  const prefix = Number(prefixText);
  if (isIP(address) !== 4 || !/^\d{1,2}$/.test(prefixText) || prefix < 16 || prefix > 28) {
    throw new Error(`vpcCidr: expected an IPv4 CIDR from /16 to /28 (AWS's VPC sizes), got ${JSON.stringify(vpcCidr)}`);
  }
  const base = toNumber(address);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0)
    throw new Error(
      `vpcCidr: ${vpcCidr} is not aligned on its prefix (the network is ${toAddress(base - (base % size))}/${prefix})`,
    );
  const count = AWS_ZONES.length * availabilityZones.length;
  const subnetPrefix = prefix + Math.ceil(Math.log2(Math.max(count, 1)));
  if (subnetPrefix > SMALLEST_PREFIX) {
    throw new Error(
      `vpcCidr: ${vpcCidr} is too small for ${count} subnets of at least a /${SMALLEST_PREFIX} ` +
        `(${AWS_ZONES.length} zones in ${availabilityZones.length} availability zones)`,
    );
  }
  const blockSize = 2 ** (32 - subnetPrefix);
  return AWS_ZONES.flatMap((zone, zoneIndex) =>
    availabilityZones.map((availabilityZone, azIndex) => ({
      zone,
      availabilityZone,
      cidr: `${toAddress(base + (zoneIndex * availabilityZones.length + azIndex) * blockSize)}/${subnetPrefix}`,
    })),
  );
}
