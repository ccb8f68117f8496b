/**
 * A stand-in for `plotpointe serve` in analytics tests: opens `<lake>/logs/serving.duckdb` read-write the way
 * the server's log writer does (one DuckDB instance holding the file, tables from log-schema.ts — so no other
 * process can open it) and serves the analytics routes on 127.0.0.1 over that instance, without a model. Prints `{"port": N}` on stdout
 * once listening; stops on SIGTERM or when stdin closes.
 *
 *   node --import tsx src/analytics/testkit-server.ts <lake> <name> [adminToken]
 */
import Fastify from 'fastify';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EVENTS_DDL, REQUESTS_DDL } from './log-schema.js';
import { analyticsRoutes } from '../serving/routes/analytics.js';
import { lakePaths } from '../lake/paths.js';

const [lake, name, token = ''] = process.argv.slice(2);
const path = lakePaths(lake).servingLog;
mkdirSync(dirname(path), { recursive: true });
const instance = await DuckDBInstance.create(path, { threads: '1' });
const conn = await instance.connect();
await conn.run(REQUESTS_DDL);
await conn.run(EVENTS_DDL);
const logs = { instance, flush: async () => {} }; // rows are written directly here, nothing is buffered
const app = Fastify();
await app.register(analyticsRoutes, { ctx: { lake, name, logs, settings: { adminToken: token } } });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(JSON.stringify({ port: Number(new URL(address).port) }) + '\n');
const stop = async () => {
  await app.close();
  conn.closeSync();
  instance.closeSync();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
