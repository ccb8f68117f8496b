// Bootstrap of an image encoder pool thread (see onnx-pool.ts): lets it load TypeScript (tsx).
import { register } from 'tsx/esm/api';

register();
await import('./onnx-pool-thread-main.ts');
