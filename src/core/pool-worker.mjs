// Bootstrap of a core pool worker: lets the worker load TypeScript (tsx), then runs the loop.
import { register } from 'tsx/esm/api';

register();
await import('./pool-worker-main.ts');
