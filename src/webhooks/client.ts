/**
 * A small typed client for the outbound webhook admin API (issue #7), over `fetch`: what a platform's
 * backend (and the tests) call to manage applications and endpoints and to send messages. Failures
 * throw `WebhookApiError` carrying the RFC 9457 problem document; callers compare `code`.
 */
import type { CompatibilityMode } from './compat.ts';
import type { DeadLetterView, RecoveredView, ResentView } from './recovery.ts';
import type {
  AppView,
  AttemptView,
  EndpointView,
  EventTypeView,
  MessageDetailView,
  MessageView,
  SchemaVersionView,
  SecretView,
  SentView,
} from './views.ts';

export interface CursorPage<T> {
  data: T[];
  next_cursor: string | null;
}

export interface NumberedPage<T> {
  data: T[];
  page: number;
  per_page: number;
  total: number;
  total_pages: number;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  [extension: string]: unknown;
}

export class WebhookApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.name = 'WebhookApiError';
    this.status = problem.status;
    this.code = problem.code;
    this.problem = problem;
  }
}

export interface WebhookClientOptions {
  /** The admin listener, e.g. `http://127.0.0.1:9901`. */
  baseUrl: string;
  /** An admin token or a `jk_…` API key with a `junction:*` role. */
  token: string;
  fetch?: typeof fetch;
}

export interface PageOptions {
  limit?: number;
  cursor?: string;
}

export interface NewApp {
  name: string;
  uid?: string;
  tenant?: string;
  rate_limit?: number | null;
  retry_schedule_ms?: number[] | null;
}

export interface NewEndpoint {
  url: string;
  uid?: string;
  description?: string;
  filter_types?: string[] | null;
  channels?: string[] | null;
  headers?: Record<string, string>;
  disabled?: boolean;
  rate_limit?: number | null;
  max_concurrency?: number | null;
  retry_schedule_ms?: number[] | null;
  /** Sign with an Ed25519 key too (v1a); its public key is in `endpointSecret`. */
  ed25519?: boolean;
  secret?: string;
}

export interface NewMessage {
  event_type: string;
  payload: unknown;
  event_id?: string;
  channels?: string[];
}

export interface SendResponse extends SentView {
  /** True when the answer is the stored one of an earlier send with the same Idempotency-Key. */
  replayed: boolean;
  status: number;
}

/**
 * @example
 * const client = createWebhookClient({ baseUrl: gateway.adminUrl, token });
 * const app = await client.createApp({ name: 'Acme', uid: 'acme' });
 * await client.createEndpoint(app.id, { url: 'https://acme.example/hooks' });
 * await client.send(app.id, { event_type: 'order.created', payload: { id: 1 } }, { idempotencyKey: 'k1' });
 */
export function createWebhookClient(options: WebhookClientOptions) {
  const http = options.fetch ?? fetch;
  const base = `${options.baseUrl.replace(/\/$/, '')}/admin/v1`;
  const enc = encodeURIComponent;

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; body: T }> {
    const res = await http(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!res.ok) throw new WebhookApiError({ status: res.status, ...(parsed as object) });
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
  const json = async <T>(method: string, path: string, body?: unknown) =>
    (await call<T>(method, path, body)).body;
  const query = (q: Record<string, string | number | undefined>) => {
    const entries = Object.entries(q).filter(([, v]) => v !== undefined) as [string, string | number][];
    return entries.length === 0
      ? ''
      : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)]))}`;
  };
  const app = (ref: string) => `/apps/${enc(ref)}`;
  const ep = (ref: string, id: string) => `${app(ref)}/endpoints/${enc(id)}`;

  return {
    createApp: (input: NewApp) => json<AppView>('POST', '/apps', input),
    listApps: (p: PageOptions & { tenant?: string } = {}) =>
      json<CursorPage<AppView>>('GET', `/apps${query({ ...p })}`),
    getApp: (ref: string) => json<AppView>('GET', app(ref)),
    updateApp: (ref: string, patch: Partial<Omit<NewApp, 'tenant'>>) =>
      json<AppView>('PATCH', app(ref), patch),
    deleteApp: (ref: string) => json<AppView>('DELETE', app(ref)),
    restoreApp: (id: string) => json<AppView>('POST', `${app(id)}/restore`),

    createEndpoint: (ref: string, input: NewEndpoint) =>
      json<EndpointView>('POST', `${app(ref)}/endpoints`, input),
    listEndpoints: (ref: string, p: PageOptions = {}) =>
      json<CursorPage<EndpointView>>('GET', `${app(ref)}/endpoints${query({ ...p })}`),
    getEndpoint: (ref: string, id: string) => json<EndpointView>('GET', ep(ref, id)),
    updateEndpoint: (ref: string, id: string, patch: Partial<Omit<NewEndpoint, 'secret' | 'uid'>>) =>
      json<EndpointView>('PATCH', ep(ref, id), patch),
    deleteEndpoint: (ref: string, id: string) => json<EndpointView>('DELETE', ep(ref, id)),
    restoreEndpoint: (ref: string, id: string) => json<EndpointView>('POST', `${ep(ref, id)}/restore`),
    endpointSecret: (ref: string, id: string) => json<SecretView>('GET', `${ep(ref, id)}/secret`),
    rotateSecret: (ref: string, id: string, input: { key?: string; grace_ms?: number } = {}) =>
      json<SecretView>('POST', `${ep(ref, id)}/secret/rotate`, input),

    /** 202 for a new message, 200 for a duplicate eventId or a replayed Idempotency-Key answer. */
    async send(
      ref: string,
      input: NewMessage,
      opts: { idempotencyKey?: string } = {},
    ): Promise<SendResponse> {
      const headers: Record<string, string> =
        opts.idempotencyKey === undefined ? {} : { 'idempotency-key': opts.idempotencyKey };
      const res = await call<SentView>('POST', `${app(ref)}/messages`, input, headers);
      return { ...res.body, status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true' };
    },
    listMessages: (ref: string, p: PageOptions & { event_type?: string } = {}) =>
      json<CursorPage<MessageView>>('GET', `${app(ref)}/messages${query({ ...p })}`),
    getMessage: (ref: string, id: string) =>
      json<MessageDetailView>('GET', `${app(ref)}/messages/${enc(id)}`),
    listAttempts: (ref: string, p: PageOptions & { message_id?: string; endpoint_id?: string } = {}) =>
      json<CursorPage<AttemptView>>('GET', `${app(ref)}/attempts${query({ ...p })}`),

    createEventType: (input: { name: string; description?: string; schema?: unknown }) =>
      json<EventTypeView>('POST', '/event-types', input),
    listEventTypes: (p: { page?: number; per_page?: number } = {}) =>
      json<NumberedPage<EventTypeView>>('GET', `/event-types${query({ ...p })}`),
    getEventType: (name: string) => json<EventTypeView>('GET', `/event-types/${enc(name)}`),
    archiveEventType: (name: string) => json<EventTypeView>('DELETE', `/event-types/${enc(name)}`),
    addSchema: (name: string, schema: unknown, compatibility?: CompatibilityMode) =>
      json<SchemaVersionView>('POST', `/event-types/${enc(name)}/schemas`, {
        schema,
        ...(compatibility ? { compatibility } : {}),
      }),
    schemas: (name: string) => json<SchemaVersionView[]>('GET', `/event-types/${enc(name)}/schemas`),

    /** The endpoint's dead letters, newest first. */
    deadLetters: (ref: string, id: string, p: PageOptions = {}) =>
      json<CursorPage<DeadLetterView>>('GET', `${ep(ref, id)}/dead${query({ ...p })}`),
    /** Requeues the endpoint's dead letters of messages sent since (and before `until`); RFC 3339. */
    recoverEndpoint: (ref: string, id: string, input: { since: string; until?: string }) =>
      json<RecoveredView>('POST', `${ep(ref, id)}/recover`, input),
    /** Sends one message to one endpoint again (202). */
    resend: (ref: string, messageId: string, endpointId: string) =>
      json<ResentView>('POST', `${app(ref)}/messages/${enc(messageId)}/resend`, { endpoint_id: endpointId }),
    /** Bulk retry: the application's dead letters matching the filter; `{}` recovers them all. */
    recover: (
      ref: string,
      filter: { endpoint_ids?: string[]; event_types?: string[]; since?: string; until?: string } = {},
    ) => json<RecoveredView>('POST', `${app(ref)}/recover`, filter),
  };
}

export type WebhookClient = ReturnType<typeof createWebhookClient>;

/**
 * Every item of a cursor-paged list, page by page.
 * @example
 * for await (const m of allPages((p) => client.listMessages(app.id, p))) console.log(m.id);
 */
export async function* allPages<T>(
  list: (p: PageOptions) => Promise<CursorPage<T>>,
  limit = 250,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await list({ limit, ...(cursor === undefined ? {} : { cursor }) });
    yield* page.data;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
