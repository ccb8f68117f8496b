import type { Command } from 'commander';
import { configDocs, loadConfig } from '../config/load.js';
import { runCommand, type GlobalOptions } from './output.js';

/** `plotpointe config show|docs`: the effective configuration, and the documented schema. */
export function registerConfigCommands(program: Command, setExit: (code: number) => void): void {
  const config = program.command('config').description('show the effective configuration or document every key');
  config
    .command('show')
    .description('print the effective configuration (defaults ← --config file)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & { config?: string };
      setExit(await runCommand(o, async () => ({ ...loadConfig({ file: o.config }) })));
    });
  config
    .command('docs')
    .description('print every configuration key with its type, default and meaning (Markdown)')
    .action(async (_o, cmd: Command) => {
      setExit(await runCommand(cmd.optsWithGlobals() as GlobalOptions, async () => ({ markdown: configDocs() }), (r) => r.markdown));
    });
}
