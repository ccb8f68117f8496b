// Preloaded (node --import) into every pipeline step process. Two jobs:
// 1. On exit, write this process's own process.resourceUsage() (CPU time of all its threads, peak RSS)
//    as JSON to $PLOTPOINTE_STEP_USAGE, so the runner can report a step's CPU time and memory.
// 2. Exit when the parent (runner or worker) dies: Node has no PR_SET_PDEATHSIG, so the step polls its
//    parent pid and stops when it was re-parented; a SIGKILLed runner leaves no orphan step writing the lake.
import { writeFileSync } from 'node:fs';

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
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 250).unref();
