// prom-client's classes, taken from its own modules instead of its index: the index also loads
// its Pushgateway client, and with it node:https and TLS, ~1.7 MiB of resident memory in every
// process for a push the server never makes (bench/profiles/README.md, "Memory"). The types are
// the package's own; `test/http/prometheus.test.ts` checks these are its classes.

import { createRequire } from "node:module";
import type * as PromClient from "prom-client";

const require = createRequire(import.meta.url);

export const Registry = require("prom-client/lib/registry") as typeof PromClient.Registry;
export type Registry = PromClient.Registry;
export const AggregatorRegistry = require("prom-client/lib/cluster") as typeof PromClient.AggregatorRegistry;
export type AggregatorRegistry = PromClient.AggregatorRegistry<PromClient.RegistryContentType>;
export const Counter = require("prom-client/lib/counter") as typeof PromClient.Counter;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge = require("prom-client/lib/gauge") as typeof PromClient.Gauge;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export const Histogram = require("prom-client/lib/histogram") as typeof PromClient.Histogram;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export const collectDefaultMetrics =
  require("prom-client/lib/defaultMetrics") as typeof PromClient.collectDefaultMetrics;
export type { Aggregator } from "prom-client";
