// Prometheus metrics: process defaults plus request duration by route template (never by raw URL,
// which would let callers create unbounded label values).
//
// The request histogram is observed on every response, so its hot path is kept to a few number
// increments: each route gets its own onResponse hook holding its template and its series by
// status (Fastify would build `request.routeOptions` anew on every access, and prom-client's
// Histogram validates and hashes the label set on every observation). prom-client still owns the
// registry and the text format; this metric only hands it its values when scraped. A request that
// matches no route runs no route's hooks: the not-found handler reports it, as `unmatched`.
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface Metrics {
  registry: Registry;
  /** For the not-found handler: observes the request once its answer is sent. */
  observeUnmatched(request: FastifyRequest, reply: FastifyReply): void;
}

interface Series {
  labels: { method: string; route: string; status_code: string };
  /** Observations per bucket (not cumulative; the last slot is +Inf). */
  counts: number[];
  sum: number;
  count: number;
}

class RequestDurationHistogram {
  readonly name = 'orgplane_http_request_duration_seconds';
  readonly help = 'HTTP request duration by method, route template and status code';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly all = new Map<string, Series>();

  series(method: string, route: string, status: number): Series {
    const key = `${method} ${route} ${status}`;
    let found = this.all.get(key);
    if (!found) {
      found = {
        labels: { method, route, status_code: String(status) },
        counts: new Array(BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.all.set(key, found);
    }
    return found;
  }

  observe(series: Series, seconds: number): void {
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > (BUCKETS[bucket] as number)) bucket++;
    series.counts[bucket] = (series.counts[bucket] as number) + 1;
    series.sum += seconds;
    series.count++;
  }

  /** What prom-client's registry asks of a metric when scraped. */
  async get() {
    const values = [];
    for (const { labels, counts, sum, count } of this.all.values()) {
      let cumulative = 0;
      for (let i = 0; i <= BUCKETS.length; i++) {
        cumulative += counts[i] as number;
        const le = i < BUCKETS.length ? String(BUCKETS[i]) : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.all.clear();
  }
}

export function registerMetrics(app: FastifyInstance): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orgplane_' });
  const duration = new RequestDurationHistogram();
  registry.registerMetric(duration as unknown as Metric);

  app.addHook('onRoute', (route) => {
    const template = route.url;
    const byStatus = new Map<number, Series>();
    const hook: onResponseHookHandler = (request, reply, done) => {
      const status = reply.statusCode;
      let series = byStatus.get(status);
      if (series === undefined || series.labels.method !== request.method) {
        series = duration.series(request.method, template, status);
        byStatus.set(status, series);
      }
      duration.observe(series, reply.elapsedTime / 1000);
      done();
    };
    const own = route.onResponse;
    route.onResponse = [hook, ...(own ? (Array.isArray(own) ? own : [own]) : [])];
  });

  return {
    registry,
    observeUnmatched: (request, reply) => {
      reply.raw.once('finish', () =>
        duration.observe(
          duration.series(request.method, 'unmatched', reply.statusCode),
          reply.elapsedTime / 1000,
        ),
      );
    },
  };
}
