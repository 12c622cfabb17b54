// Page and filters live in the URL (path + query), so every view is a shareable link.

export const PAGES = ['overview', 'campaigns', 'cohorts', 'fraud', 'live', 'settings'] as const;
export type Page = (typeof PAGES)[number];

function pageOf(pathname: string): Page {
  const name = pathname.replace(/^\/+|\/+$/g, '') as Page;
  return PAGES.includes(name) ? name : 'overview';
}

function read(): { page: Page; params: Record<string, string> } {
  return {
    page: pageOf(location.pathname),
    params: Object.fromEntries(new URLSearchParams(location.search)),
  };
}

export const route = $state(read());

addEventListener('popstate', () => Object.assign(route, read()));

function write(push: boolean): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(route.params)) if (v !== '' && v !== undefined) q.set(k, v);
  const s = q.toString();
  const url = `/${route.page}${s ? `?${s}` : ''}`;
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

/** Go to a page, keeping the shared filters (app and period). */
export function navigate(page: Page): void {
  const keep = ['app', 'from', 'to', 'cmp'];
  route.page = page;
  route.params = Object.fromEntries(Object.entries(route.params).filter(([k]) => keep.includes(k)));
  write(true);
}

/** Change query parameters; an empty string removes one. */
export function setParams(changes: Record<string, string>, push = false): void {
  route.params = { ...route.params, ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === '') delete route.params[k];
  write(push);
}

export function param(name: string, fallback = ''): string {
  return route.params[name] ?? fallback;
}
