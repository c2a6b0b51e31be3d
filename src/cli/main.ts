/**
 * `junction` — start | validate | migrate | schema | --version.
 * Argument parsing with node:util's parseArgs: four commands need no CLI framework.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatIssues, loadConfigFile } from '../config/loader.ts';
import { noAudit } from '../core/audit.ts';
import { isJunctionError } from '../core/errors.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import { compileEvents, type EventIntake, eventMetrics, webhookEndpoint } from '../events/index.ts';
import { closeUpstreams, compileRuntime } from '../ingress/index.ts';
import { listenerTls } from '../ingress/tls.ts';
import { openStore } from '../store/index.ts';
import { auditCommand } from './audit.ts';
import { dlqCommand } from './dlq.ts';
import { eventsCommand } from './events.ts';
import { startGateway } from './gateway.ts';
import { keysCommand } from './keys.ts';
import { writeSchema } from './schema.ts';
import { VERSION } from './version.ts';
import { webhooksCommand } from './webhooks.ts';

const USAGE = `junction ${VERSION}

Usage:
  junction start    -c junction.yaml   run the gateway (SIGTERM drains and exits 0)
  junction validate -c junction.yaml   check a config; exit 1 listing file:line:col path message
  junction migrate  [-c junction.yaml] apply pending store migrations
  junction audit    verify [-c junction.yaml]  check the audit log's hash chain; exit 1 naming the first bad record
  junction keys     create|list|revoke  manage API keys in the store (junction keys --help)
  junction dlq      list|replay|discard  the dead letter queue in the store (junction dlq --help)
  junction webhooks dead|recover|resend  outbound webhook dead letters and recovery (junction webhooks --help)
  junction events   export --from <t> [--to <t>] [-o file]  events of a time range as NDJSON
  junction schema   [-o file] [--docs file]  write the config's JSON Schema (and its reference page)
  junction --version
`;

const OPTIONS = {
  config: { type: 'string', short: 'c', default: 'junction.yaml' },
  out: { type: 'string', short: 'o', default: 'schema/junction.schema.json' },
  docs: { type: 'string' },
  version: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

const parse = (argv: string[]) => parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });

async function main(argv: string[]): Promise<number> {
  // `audit` has options of its own (--anchor, --json); it parses them itself.
  if (argv[0] === 'audit') return auditCommand(argv.slice(1));
  // `keys` has options of its own; it parses them itself.
  if (argv[0] === 'keys') return keysCommand(argv.slice(1));
  // `dlq` and `events` too.
  if (argv[0] === 'dlq') return dlqCommand(argv.slice(1));
  if (argv[0] === 'events') return eventsCommand(argv.slice(1));
  if (argv[0] === 'webhooks') return webhooksCommand(argv.slice(1));
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    // A typo in the arguments is a usage error (exit 2), not a crash with a stack trace.
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  switch (command) {
    case 'start':
      return start(values.config);
    case 'validate':
      return validate(values.config);
    case 'migrate':
      return migrate(values.config);
    case 'schema':
      writeSchema(values.out, values.docs);
      process.stdout.write(`wrote ${values.out}${values.docs ? ` and ${values.docs}` : ''}\n`);
      return 0;
    default:
      if (values.help) {
        process.stdout.write(USAGE);
        return 0;
      }
      process.stderr.write(command === undefined ? USAGE : `unknown command ${command}\n\n${USAGE}`);
      return 2;
  }
}

async function start(configFile: string): Promise<number> {
  const gateway = await startGateway({ configFile });
  process.stdout.write(`junction ${VERSION}: proxy ${gateway.proxyUrl}  admin ${gateway.adminUrl}\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    // Ctrl-C reaches a whole process group (bin/junction.js and this process) and supervisors often
    // repeat a signal: drain once, and let a repeat not kill the process mid-drain.
    if (stopping) return;
    stopping = true;
    gateway.services.logger.info({ signal }, 'draining');
    const { drained } = await gateway.close();
    gateway.services.logger.info({ drained }, 'stopped');
    // The log destination writes asynchronously; exiting before it flushed would lose these lines.
    await new Promise<void>((resolve) => gateway.services.logger.flush(() => resolve()));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return new Promise<number>(() => {});
}

/** `validate` builds the webhook endpoints to check their paths; they never receive a request. */
const NO_INTAKE: EventIntake = { accept: () => Promise.reject(new Error('validate only')) };

async function validate(configFile: string): Promise<number> {
  try {
    const loaded = loadConfigFile(configFile);
    const services = {
      logger: createLogger({ level: 'silent' }),
      accessLogger: createLogger({ level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      ids: new Snowflake({ nodeId: 0 }),
      spans: undefined,
      audit: noAudit,
      redisUrl: undefined,
    };
    // The listener's certificate files too: a typo there must not wait for `junction start`.
    listenerTls(loaded);
    // Webhook sources are routes too: a path taken twice is found when the table is built.
    const events = compileEvents(loaded);
    const metrics = eventMetrics(services.metrics.registry);
    const endpoints = events.sources.map((source) => webhookEndpoint(source, NO_INTAKE, metrics));
    const runtime = compileRuntime(loaded, services, undefined, undefined, endpoints);
    await closeUpstreams(runtime.upstreams.values());
    process.stdout.write(`${configFile}: valid (${loaded.config.routes.length} routes)\n`);
    return 0;
  } catch (err) {
    return report(err);
  }
}

async function migrate(configFile: string): Promise<number> {
  // No config file: JUNCTION_DATABASE_URL or the default SQLite file. A file that is there but
  // invalid is an error: guessing past it would migrate some other database.
  const url = existsSync(configFile) ? loadConfigFile(configFile).config.store.url : undefined;
  const store = await openStore({ url: process.env.JUNCTION_DATABASE_URL || url });
  try {
    const { applied } = await store.migrate();
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'store is up to date\n');
    return 0;
  } finally {
    await store.close();
  }
}

function report(err: unknown): number {
  if (isJunctionError(err)) {
    const issues = err.extensions?.issues as Parameters<typeof formatIssues>[0] | undefined;
    process.stderr.write(`${issues ? formatIssues(issues) : err.message}\n`);
    return 1;
  }
  throw err;
}

// `junction events export | head`: a reader that stops early is normal for a CLI, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    if (isJunctionError(err)) process.exitCode = report(err);
    else {
      process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
      process.exitCode = 1;
    }
  },
);
