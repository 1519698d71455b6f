// The public REST API (docs/api.md) with the signed-in key: the only server the dashboard
// talks to, on the origin that served it.
import { Problem, problemSummary } from './lib';

export class ApiError extends Error {
  constructor(public status: number, public problem: Problem) {
    super(problemSummary(problem, status));
  }
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export class Api {
  constructor(public readonly key: string, public tenant: string | null) {}

  async request<T = any>(method: string, path: string, body?: unknown, tenant = true): Promise<T> {
    const headers: Record<string, string> = {
      Authorization: 'Bearer ' + this.key,
      Accept: 'application/json, application/problem+json',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (tenant && this.tenant) headers['X-Hookline-Tenant'] = this.tenant;
    let res: Response;
    try {
      res = await fetch('/api/v1' + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (e) {
      throw new ApiError(0, { title: 'The gateway cannot be reached', detail: String(e) });
    }
    if (res.status === 204) return null as T;
    const text = await res.text();
    let data: any = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const p: Problem = data && typeof data === 'object' ? data : { title: res.statusText, detail: text.slice(0, 200) };
      throw new ApiError(res.status, p);
    }
    return data as T;
  }

  get<T = any>(path: string, tenant = true): Promise<T> {
    return this.request<T>('GET', path, undefined, tenant);
  }

  /** The HTTP status of a GET, for probing what the key may do. */
  async status(path: string, tenant = true): Promise<number> {
    try {
      await this.get(path, tenant);
      return 200;
    } catch (e) {
      if (e instanceof ApiError) return e.status;
      throw e;
    }
  }
}
