export type Row = Record<string, string | number | null>;

export interface Report {
  rows: Row[];
  totals: Row;
}

export interface App {
  app_id: string;
  name: string;
  store_urls: { ios?: string; android?: string };
  settings: Record<string, unknown>;
  windows: { click_hours: number; view_hours: number; fingerprint_hours: number } | null;
}

export interface Link {
  link_id: string;
  app_id: string;
  network: string;
  campaign: string | null;
  adset: string | null;
  ad: string | null;
  retargeting: boolean;
  deep_link: string | null;
  created_at: string;
  click_url: string;
  impression_url: string;
}

export interface Attribution {
  install_event_id: string;
  status: string;
  network: string | null;
  campaign: string | null;
  match: string | null;
  touch_event_id: string | null;
  ctit_s: number | null;
  fraud_score: number | null;
  fraud_verdict: string | null;
  fraud_reasons: string | string[] | null;
}

export interface CohortCell {
  cohort: string;
  installs: number;
  day: number;
  value: number | null;
}

export interface LiveEvent {
  event_id: string;
  type: string;
  event_time: number;
  received_at: number;
  platform: string | null;
  country: string | null;
  name: string | null;
  revenue: number | null;
  currency: string | null;
  network: string | null;
  campaign: string | null;
  attribution: string | null;
  match: string | null;
}

/** `GET /v1/reports/fraud`: the latest rescan of an app's whole stored window. */
export interface FraudReport {
  app_id: string;
  rescanned_at: number;
  installs: number;
  blocked_installs: number;
  blocked_spend: number;
  newly_blocked: number;
  by_network: { network: string; blocked_installs: number; blocked_spend: number }[];
  by_campaign: { network: string; campaign: string; blocked_installs: number; blocked_spend: number }[];
  by_site: { network: string; site_id: string; blocked_installs: number; blocked_spend: number }[];
  by_reason: { reason: string; blocked_installs: number; blocked_spend: number }[];
  ctit_edges_s: number[];
  ctit_histograms: { network: string; site_id: string | null; installs: number; counts: number[] }[];
}

/** One entry of `GET /v1/audit`. */
export interface AuditEntry {
  id: number;
  at: string;
  action: string;
  app_id: string | null;
  details: Record<string, unknown> | null;
}
