import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ServingContext } from '../serving/context.js';
import { buildApp } from '../serving/app.js';
import { runCommand, type GlobalOptions } from './output.js';

export interface ServeSummary {
  url: string;
  /** variant → the model version served at shutdown */
  variants: Record<string, string>;
  uptime_seconds: number;
  log_rows_written: number;
  signal: string;
}

/**
 * `plotpointe serve`: the recommendation API over the serving bundle of a run (see src/serving/app.ts). Logs are
 * pino JSON lines on stderr (with request ids); stdout gets one line when listening
 * (`listening on URL …`, or `{"listening": URL, …}` with --json) and the summary at shutdown (SIGINT/SIGTERM:
 * stop accepting, finish in-flight requests, flush the request log).
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
    .option('--variants <spec>', 'A/B variants name=RUN:weight,… (config serve.variants)')
    .option('--log-level <level>', 'pino log level: fatal | error | warn | info | debug | silent', 'info')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | undefined>;
      setExit(
        await runCommand(
          o,
          async () => {
            const c = loadConfig({
              file: o.config,
              overrides: { 'lake.dir': o.lake, 'dataset.name': o.name, 'serve.port': o.port, 'serve.host': o.host, 'serve.variants': o.variants },
            });
            const started = performance.now();
            const ctx = await ServingContext.load({
              lake: c['lake.dir'],
              name: c['dataset.name'],
              runId: o.run,
              variants: c['serve.variants'],
              settings: {
                maxK: c['serve.max_k'],
                bodyLimit: c['serve.body_limit'],
                explainHistory: c['serve.explain_history'],
                adminToken: process.env.PLOTPOINTE_ADMIN_TOKEN || c['serve.admin_token'],
                imageMaxBytes: c['serve.image_max_bytes'],
                imageTimeoutMs: c['serve.image_timeout_ms'],
              },
              logFlushRows: c['serve.log_flush_rows'],
              logFlushMs: c['serve.log_flush_ms'],
            });
            const app = await buildApp(ctx, {
              logger: { level: o.logLevel ?? 'info', stream: process.stderr },
              requestLogLevel: c['serve.request_log_level'] as 'off' | 'trace' | 'debug' | 'info',
              warmEncoders: true,
              config: c,
            });
            const url = await app.listen({ port: c['serve.port'], host: c['serve.host'] });
            const variants = Object.fromEntries([...ctx.state.variants].map(([v, m]) => [v, m.modelVersion]));
            process.stdout.write(
              o.json
                ? JSON.stringify({ listening: url, variants, pid: process.pid }) + '\n'
                : `listening on ${url} (${Object.entries(variants).map(([v, r]) => `${v}: ${r}`).join(', ')}); docs at ${url}/docs\n`,
            );
            const signal = await new Promise<string>((resolve) => {
              const on = (s: string) => resolve(s);
              process.once('SIGINT', on);
              process.once('SIGTERM', on);
            });
            await app.close();
            const served = Object.fromEntries([...ctx.state.variants].map(([v, m]) => [v, m.modelVersion]));
            return { url, variants: served, uptime_seconds: (performance.now() - started) / 1000, log_rows_written: ctx.logs?.written ?? 0, signal };
          },
          (s: ServeSummary) => `stopped (${s.signal}) after ${s.uptime_seconds.toFixed(1)} s; ${s.log_rows_written} request-log rows written`,
        ),
      );
    });
}
