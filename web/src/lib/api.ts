// The only way the dashboard reaches data: the attribo HTTP API, with the key from log-in.

const KEY = 'attribo.key';

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export function getKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export type Params = Record<string, string | number | boolean | undefined | null | string[]>;

export function query(params: Params): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) q.append(name, v);
    else q.set(name, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    const detail = body?.detail?.[0];
    if (detail) message = `${detail.field}: ${detail.message}`;
    else if (body?.error) message = String(body.error);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

export async function request(
  path: string,
  init: RequestInit = {},
  key: string | null = getKey(),
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key) headers.set('Authorization', `Bearer ${key}`);
  if (init.body && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  const response = await fetch(path, { ...init, headers });
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function getJson<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const response = await request(path + query(params), { signal });
  return (await response.json()) as T;
}

export async function sendJson<T>(method: string, path: string, body: unknown): Promise<T> {
  const response = await request(path, { method, body: JSON.stringify(body) });
  return (response.status === 204 ? {} : await response.json()) as T;
}

export async function getLines<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T[]> {
  const response = await request(path + query(params), { signal });
  const text = await response.text();
  const rows: T[] = [];
  for (const line of text.split('\n')) if (line) rows.push(JSON.parse(line) as T);
  return rows;
}
