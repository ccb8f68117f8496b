// Preloaded (node --import) into every pipeline step process. Two jobs:
// 1. On exit, write this process's own process.resourceUsage() (CPU time of all its threads, peak RSS)
//    as JSON to $PLOTPOINTE_STEP_USAGE, so the runner can report a step's CPU time and memory.
// 2. Die with the parent (runner or worker). Node has no PR_SET_PDEATHSIG, and a timer on the main thread does not
//    fire while the step computes synchronously (embed-text lived ~55 s after a SIGKILLed runner that way), so a
//    watchdog THREAD does it: it holds the read end of a pipe whose write end only the parent has
//    ($PLOTPOINTE_PARENT_FD), and SIGKILLs the process at end-of-file — the kernel closes the write end when the
//    parent dies, however it dies. Without the pipe it polls the parent pid from the thread.
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

const usagePath = process.env.PLOTPOINTE_STEP_USAGE;
if (usagePath) {
  process.on('exit', () => {
    try {
      writeFileSync(usagePath, JSON.stringify(process.resourceUsage()));
    } catch {
      // best effort: the runner reports the step without CPU figures
    }
  });
}

const watchdog = `
const { workerData } = require('node:worker_threads');
const net = require('node:net');
const die = () => process.kill(process.pid, 'SIGKILL');
if (workerData.fd !== null) {
  const s = new net.Socket({ fd: workerData.fd, readable: true, writable: false });
  s.on('data', () => {});
  s.on('end', die);
  s.on('close', die);
  s.on('error', die);
} else {
  setInterval(() => { if (process.ppid !== workerData.parent) die(); }, 250);
}
`;
const fdEnv = process.env.PLOTPOINTE_PARENT_FD;
const fd = fdEnv ? Number(fdEnv) : null;
delete process.env.PLOTPOINTE_PARENT_FD; // not inherited by this step's own children
const w = new Worker(watchdog, { eval: true, workerData: { fd, parent: process.ppid } });
// The step's own code starts only once the watchdog runs (a busy step would otherwise keep it from starting).
await once(w, 'online');
w.unref();
