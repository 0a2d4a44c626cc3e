// Robot accounts are credentials left on nodes and in CI variables: each must expire, so that a
// forgotten or leaked one stops working by itself. `duration` is in days (Harbor's meaning): -1,
// the default, never expires; 0 takes the server's default lifetime. A ceiling, 365 days unless
// the pack's configuration says otherwise, keeps rotations regular.

import { isOf, type PolicySubject } from "./policy-subject";

export interface RobotExpiryConfig {
  /** The longest lifetime allowed, in days. Default 365. */
  maxDurationDays?: number;
}

export const DEFAULT_MAX_ROBOT_DAYS = 365;

/** Why the resource is a robot account that does not expire in time; [] when it is not. */
export function robotWithoutExpiry(subject: PolicySubject, config: RobotExpiryConfig = {}): string[] {
  if (!isOf(subject, "robotAccount")) return [];
  const duration = subject.props["duration"];
  const max = config.maxDurationDays ?? DEFAULT_MAX_ROBOT_DAYS;
  if (duration === undefined || duration === -1) {
    return [`robot account ${subject.name} never expires: give it a duration in days (at most ${max})`];
  }
  if (typeof duration === "number" && duration > max) {
    return [`robot account ${subject.name} lives ${duration} days: at most ${max} are allowed`];
  }
  return [];
}
