// Number formats a marketer expects: grouped integers, dollars, percentages, signed changes.

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const usdCents = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export type Kind = 'int' | 'usd' | 'usd2' | 'pct' | 'ratio' | 'num';

const KINDS: Record<string, Kind> = {
  clicks: 'int', impressions: 'int', installs: 'int', organic_installs: 'int', blocked_installs: 'int',
  paying_users: 'int', sessions: 'int', cost: 'usd', revenue: 'usd', cpi: 'usd2', cpm: 'usd2',
  arpu: 'usd2', arppu: 'usd2', ctr: 'pct', conversion_rate: 'pct', fraud_rate: 'pct', roas: 'pct',
};

export function kindOf(metric: string): Kind {
  if (KINDS[metric]) return KINDS[metric];
  if (metric.startsWith('retention') || metric.startsWith('roas')) return 'pct';
  if (metric.startsWith('event:')) return 'int';
  return 'num';
}

export function fmt(value: unknown, kind: Kind): string {
  if (value === null || value === undefined || value === '') return '—';
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  switch (kind) {
    case 'int': return int.format(n);
    case 'usd': return Math.abs(n) < 100 ? usdCents.format(n) : usd.format(n);
    case 'usd2': return usdCents.format(n);
    case 'pct': return `${dec.format(n * 100)}%`;
    case 'ratio': return `${dec.format(n)}×`;
    default: return dec.format(n);
  }
}

export function fmtMetric(metric: string, value: unknown): string {
  return fmt(value, kindOf(metric));
}

/** Organic installs have no spend: cost figures for them would read as free, not as absent. */
export function fmtRowMetric(row: Record<string, unknown>, metric: string): string {
  if (row.network === 'organic' && ['cost', 'cpi', 'cpm', 'roas'].includes(metric.replace(/_d\d+$/, ''))) return '—';
  return fmtMetric(metric, row[metric]);
}

export function fmtCompact(n: number): string {
  return compact.format(n);
}

/** Relative change from `before` to `now`, or null when it has no meaning. */
export function change(now: unknown, before: unknown): number | null {
  const a = Number(now);
  const b = Number(before);
  if (now === null || before === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return (a - b) / Math.abs(b);
}

export function fmtChange(c: number | null): string {
  if (c === null) return '—';
  const sign = c > 0 ? '+' : c < 0 ? '−' : '±';
  return `${sign}${dec.format(Math.abs(c) * 100)}%`;
}

export const METRIC_LABELS: Record<string, string> = {
  clicks: 'Clicks', impressions: 'Impressions', ctr: 'CTR', installs: 'Installs',
  organic_installs: 'Organic', blocked_installs: 'Blocked', fraud_rate: 'Fraud rate',
  conversion_rate: 'CVR', cost: 'Spend', cpi: 'CPI', cpm: 'CPM', revenue: 'Revenue', arpu: 'ARPU',
  arppu: 'ARPPU', paying_users: 'Payers', roas: 'ROAS', sessions: 'Sessions',
  retention_d1: 'Ret. D1', retention_d3: 'Ret. D3', retention_d7: 'Ret. D7', retention_d14: 'Ret. D14',
  retention_d30: 'Ret. D30', roas_d0: 'ROAS D0', roas_d1: 'ROAS D1', roas_d3: 'ROAS D3', roas_d7: 'ROAS D7',
  roas_d14: 'ROAS D14', roas_d30: 'ROAS D30', network: 'Network', campaign: 'Campaign', adset: 'Ad set',
  ad: 'Ad', site: 'Site', country: 'Country', platform: 'Platform', install_date: 'Install date',
};

export function label(name: string): string {
  return METRIC_LABELS[name] ?? name.replace(/_/g, ' ');
}
