// Who is logged in (the key's apps) and the chosen theme.
import { getKey, request, setKey } from './api';
import type { App } from './types';

export const session = $state({
  key: getKey(),
  apps: [] as App[],
  dark: document.documentElement.classList.contains('dark'),
});

export async function loadApps(key: string): Promise<App[]> {
  const response = await request('/v1/apps', {}, key);
  return ((await response.json()) as { apps: App[] }).apps;
}

/** Check the key against the API, then keep it for this browser tab. */
export async function signIn(key: string): Promise<void> {
  const apps = await loadApps(key);
  setKey(key);
  session.key = key;
  session.apps = apps;
}

export function signOut(): void {
  setKey(null);
  session.key = null;
  session.apps = [];
}

export function toggleTheme(): void {
  session.dark = !session.dark;
  document.documentElement.classList.toggle('dark', session.dark);
  try {
    localStorage.setItem('attribo.theme', session.dark ? 'dark' : 'light');
  } catch {
    // private mode: the theme lasts for this page only
  }
}
