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
