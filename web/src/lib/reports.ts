// Report queries. Timeseries and cohort use their own endpoints when the server has them and
// fall back to the aggregate report (by install date) on servers that do not.
import { ApiError, getJson, type Params } from './api';
import type { CohortCell, Report, Row } from './types';

export interface Period {
  app: string;
  from: string;
  to: string;
}

export function aggregate(p: Period, metrics: string[], dimensions: string[] = [], extra: Params = {}, signal?: AbortSignal): Promise<Report> {
  return getJson<Report>(
    '/v1/reports/aggregate',
    { app_id: p.app, from: p.from, to: p.to, metrics: metrics.join(','), dimensions: dimensions.join(','), ...extra },
    signal,
  );
}

/** The aggregate report's row cap (`limit` is at most this). */
export const ROW_CAP = 10000;

export interface FullReport extends Report {
  /** Networks whose rows still reached the cap on their own: their tail is missing. */
  truncated: string[];
}

/**
 * Every row of a breakdown, even past the report's 10,000-row cap: a capped answer is asked
 * again one network at a time (`filter=network:…`, in parallel) and the parts joined; the
 * totals stay those of the whole breakdown.
 */
export async function aggregateAll(p: Period, metrics: string[], dimensions: string[], filters: string[], signal?: AbortSignal): Promise<FullReport> {
  const whole = await aggregate(p, metrics, dimensions, { limit: ROW_CAP, sort: '-installs', filter: filters }, signal);
  if (whole.rows.length < ROW_CAP || !dimensions.includes('network') || filters.some((f) => f.startsWith('network:'))) return { ...whole, truncated: [] };
  const networks = await aggregate(p, ['installs'], ['network'], { limit: ROW_CAP, filter: filters }, signal);
  const parts = await Promise.all(
    networks.rows.map((r) => aggregate(p, metrics, dimensions, { limit: ROW_CAP, sort: '-installs', filter: [...filters, `network:${r.network}`] }, signal)),
  );
  const truncated = parts.flatMap((part, i) => (part.rows.length >= ROW_CAP ? [String(networks.rows[i].network)] : []));
  return { rows: parts.flatMap((part) => part.rows), totals: whole.totals, truncated };
}

const missing = new Set<string>();
let documented: Promise<Set<string>> | null = null;

/** Paths the server documents; asked once, so no request is made to a route that is absent. */
function paths(): Promise<Set<string>> {
  documented ??= fetch('/openapi.json')
    .then((r) => r.json())
    .then((d: { paths: Record<string, unknown> }) => new Set(Object.keys(d.paths)))
    .catch(() => new Set<string>());
  return documented;
}

async function withFallback<T>(path: string, primary: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
  if (missing.has(path) || !(await paths()).has(path)) return fallback();
  try {
    return await primary();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.message.startsWith('path')) {
      missing.add(path);
      return fallback();
    }
    throw e;
  }
}

export type Granularity = 'day' | 'week' | 'month';

/** Rows with `date` and the metrics, by `dimensions`, sorted by date. */
export function timeseries(p: Period, metrics: string[], granularity: Granularity, dimensions: string[] = [], signal?: AbortSignal): Promise<Report> {
  const dateDim = granularity === 'day' ? 'install_date' : `install_date:${granularity}`;
  return withFallback(
    '/v1/reports/timeseries',
    () =>
      getJson<Report>(
        '/v1/reports/timeseries',
        { app_id: p.app, from: p.from, to: p.to, metrics: metrics.join(','), granularity, dimensions: dimensions.join(',') },
        signal,
      ),
    async () => {
      const r = await aggregate(p, metrics, [dateDim, ...dimensions], { sort: dateDim, limit: 10000 }, signal);
      const rows = r.rows.map((row) => {
        const { [dateDim]: date, ...rest } = row;
        return { date, ...rest } as Row;
      });
      return { rows, totals: r.totals };
    },
  );
}

const AGGREGATE_DAYS: Record<string, number[]> = {
  retention: [1, 3, 7, 14, 30],
  roas: [0, 1, 3, 7, 14, 30],
};

export const COHORT_METRICS = ['retention', 'roas', 'revenue', 'arpu', 'sessions', 'paying_users'] as const;

/** Cohort cells: install date (or week) × days since install. */
export function cohort(p: Period, metric: string, granularity: Granularity, days: number[], signal?: AbortSignal): Promise<{ rows: CohortCell[] }> {
  return withFallback(
    '/v1/reports/cohort',
    () =>
      getJson<{ rows: CohortCell[] }>(
        '/v1/reports/cohort',
        { app_id: p.app, from: p.from, to: p.to, metric, granularity, days: days.join(',') },
        signal,
      ),
    async () => {
      const fallbackDays = AGGREGATE_DAYS[metric];
      if (!fallbackDays) throw new ApiError(404, `metric: ${metric} cohorts need the cohort report`);
      const dateDim = granularity === 'day' ? 'install_date' : `install_date:${granularity}`;
      const metrics = ['installs', ...fallbackDays.map((d) => `${metric}_d${d}`)];
      const r = await aggregate(p, metrics, [dateDim], { sort: dateDim, limit: 10000 }, signal);
      const rows: CohortCell[] = [];
      for (const row of r.rows)
        for (const d of fallbackDays)
          rows.push({ cohort: String(row[dateDim]), installs: Number(row.installs), day: d, value: row[`${metric}_d${d}`] as number | null });
      return { rows };
    },
  );
}
