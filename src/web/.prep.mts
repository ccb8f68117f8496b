import { prepareDemoServing } from './e2e.testkit.js';
const t = performance.now();
const d = await prepareDemoServing(process.argv[2]!);
console.log(JSON.stringify(d), ((performance.now() - t) / 1000).toFixed(1), 's');
