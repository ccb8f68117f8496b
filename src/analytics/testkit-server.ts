/**
 * A stand-in for `plotpointe serve` in analytics tests: holds `<lake>/logs/serving.duckdb` read-write (as the
 * server does, so no other process can open it) and serves the analytics routes on 127.0.0.1 over that
 * instance. Prints `{"port": N}` on stdout once listening; stops on SIGTERM or when stdin closes.
 *
 *   node --import tsx src/analytics/testkit-server.ts <lake> <name> [adminToken]
 */
import Fastify from 'fastify';
import { DuckDBInstance } from '@duckdb/node-api';
import { analyticsRoutes } from '../serving/routes/analytics.js';
import { LOG_TABLES_DDL, logsPath } from './source.js';

const [lake, name, token = ''] = process.argv.slice(2);
const instance = await DuckDBInstance.create(logsPath(lake), { threads: '1' });
const conn = await instance.connect();
await conn.run(`CREATE TABLE IF NOT EXISTS ${LOG_TABLES_DDL.requests}`);
await conn.run(`CREATE TABLE IF NOT EXISTS ${LOG_TABLES_DDL.events}`);
let flushes = 0;
const app = Fastify();
await app.register(analyticsRoutes, { ctx: { lake, name, logs: { instance, flush: async () => void flushes++ }, settings: { adminToken: token } } });
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
