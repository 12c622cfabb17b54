// Calendar dates as YYYY-MM-DD strings in UTC, the API's report dates.

const DAY = 86_400_000;

export function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function parse(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

export function addDays(date: string, days: number): string {
  return iso(parse(date) + days * DAY);
}

export function today(): string {
  return iso(Date.now());
}

export function daysBetween(from: string, to: string): number {
  return Math.round((parse(to) - parse(from)) / DAY) + 1;
}

/** The period of the same length just before [from, to]. */
export function previous(from: string, to: string): [string, string] {
  const n = daysBetween(from, to);
  return [addDays(from, -n), addDays(from, -1)];
}

export function short(date: string): string {
  return new Date(parse(date)).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
