// Bootstrap of the run store's worker thread (see run-store-thread.ts): lets it load TypeScript (tsx).
import { register } from 'tsx/esm/api';

register();
await import('./run-store-thread-main.ts');
