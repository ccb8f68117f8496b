import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ServingContext, servingSettingsFromConfig, type ClusterLink } from '../serving/context.js';
import { buildApp } from '../serving/app.js';
import { servedDashboard } from '../web/plugin.js';
import type { LogStore } from '../serving/log-store.js';
import { ClusterPrimary } from '../serving/cluster/primary.js';
import { runClusterWorker } from '../serving/cluster/worker.js';
import { ServingLogs } from '../serving/request-log.js';
import { runCommand, type GlobalOptions } from './output.js';

export interface ServeSummary {
  url: string;
  /** variant → the model version served at shutdown */
  variants: Record<string, string>;
  /** API processes (1, or the workers of a cluster) */
  workers: number;
  uptime_seconds: number;
  log_rows_written: number;
  signal: string;
}

type ServeOptions = GlobalOptions & Record<string, string | undefined>;

/** The serving context, app and listening URL of one API process (the only one, or a cluster worker). */
async function startApi(c: Config, o: ServeOptions, worker?: { logs: LogStore; cluster: ClusterLink; port?: number }, beforeListen?: (ctx: ServingContext) => Promise<void>) {
  const ctx = await ServingContext.load({
    lake: c['lake.dir'],
    name: c['dataset.name'],
    runId: o.run,
    variants: c['serve.variants'],
    settings: servingSettingsFromConfig(c),
    logFlushRows: c['serve.log_flush_rows'],
    logFlushMs: c['serve.log_flush_ms'],
    worker,
  });
  await beforeListen?.(ctx);
  const app = await buildApp(ctx, {
    logger: { level: o.logLevel ?? 'info', stream: process.stderr },
    requestLogLevel: c['serve.request_log_level'] as 'off' | 'trace' | 'debug' | 'info',
    warmEncoders: true,
    config: c,
    plugins: [servedDashboard],
  });
  const url = await app.listen({ port: worker?.port ?? c['serve.port'], host: c['serve.host'] });
  return { ctx, app, url };
}

const waitForSignal = (): Promise<string> =>
  new Promise<string>((resolve) => {
    const on = (s: string) => resolve(s);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });

/**
 * `plotpointe serve`: the recommendation API over the serving bundle of a run (see src/serving/app.ts). Logs are
 * pino JSON lines on stderr (with request ids); stdout gets one line when listening
 * (`listening on URL …`, or `{"listening": URL, …}` with --json) and the summary at shutdown (SIGINT/SIGTERM:
 * stop accepting, finish in-flight requests, flush the request log). With `--workers N` (N ≥ 2) this process is
 * the primary of a cluster of N API workers (src/serving/cluster/): the workers re-run this command line.
 */
export function registerServeCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('serve recommendations over HTTP (Fastify; OpenAPI UI at /docs) from the serving bundle of a run')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--run <id>', 'the run to serve (default: the blessed run); its bundle comes from plotpointe index build')
    .option('--port <n>', 'port (config serve.port; 0 = any free port)')
    .option('--host <addr>', 'address (config serve.host)')
    .option('--workers <n>', 'API processes sharing the port (config serve.workers; 0 = one per CPU core)')
    .option('--variants <spec>', 'A/B variants name=RUN:weight,… (config serve.variants)')
    .option('--log-level <level>', 'pino log level: fatal | error | warn | info | debug | silent', 'info')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as ServeOptions;
      const config = () =>
        loadConfig({
          file: o.config,
          overrides: { 'lake.dir': o.lake, 'dataset.name': o.name, 'serve.port': o.port, 'serve.host': o.host, 'serve.variants': o.variants, 'serve.workers': o.workers },
        });
      if (cluster.isWorker) {
        const c = config();
        await runClusterWorker({ start: (w, before) => startApi(c, o, w, before), flushRows: c['serve.log_flush_rows'], flushMs: c['serve.log_flush_ms'], batchRows: c['serve.log_ipc_rows'] });
        return;
      }
      setExit(
        await runCommand(
          o,
          async () => {
            const c = config();
            const started = performance.now();
            const workers = c['serve.workers'] === 0 ? availableParallelism() : c['serve.workers'];
            const announce = (url: string, variants: Record<string, string>) =>
              process.stdout.write(
                o.json
                  ? JSON.stringify({ listening: url, variants, workers, pid: process.pid }) + '\n'
                  : `listening on ${url} (${Object.entries(variants).map(([v, r]) => `${v}: ${r}`).join(', ')}${workers > 1 ? `; ${workers} workers` : ''}); docs at ${url}/docs\n`,
              );
            if (workers > 1) {
              const primary = await ClusterPrimary.start({ workers, lake: c['lake.dir'], name: c['dataset.name'], config: c, log: (line) => process.stderr.write(`plotpointe serve: ${line}\n`) });
              announce(primary.url, primary.variants);
              const signal = await Promise.race([waitForSignal(), primary.fatal.then((err) => Promise.reject(err))]).catch(async (err: unknown) => {
                await primary.stop();
                throw err;
              });
              const s = await primary.stop();
              return { url: s.url, variants: s.variants, workers, uptime_seconds: (performance.now() - started) / 1000, log_rows_written: s.log_rows_written, signal };
            }
            const { ctx, app, url } = await startApi(c, o);
            const variants = () => Object.fromEntries([...ctx.state.variants].map(([v, m]) => [v, m.modelVersion]));
            announce(url, variants());
            const signal = await waitForSignal();
            await app.close();
            const written = ctx.logs instanceof ServingLogs ? ctx.logs.written : 0;
            return { url, variants: variants(), workers, uptime_seconds: (performance.now() - started) / 1000, log_rows_written: written, signal };
          },
          (s: ServeSummary) => `stopped (${s.signal}) after ${s.uptime_seconds.toFixed(1)} s; ${s.log_rows_written} request-log rows written`,
        ),
      );
    });
}
