import { Command, CommanderError } from 'commander';
import { codeVersion } from '../lake/manifest.js';
import { reportError, type GlobalOptions } from './output.js';

/**
 * The `plotpointe` command: a thin layer that parses flags and calls a stage. One file per command group, loaded
 * on demand: a process that runs one command (every pipeline step is one) imports that group's module only, not
 * every stage of the project (≈ 2.1 CPU-s for all groups against 0.1–1.4 for one; docs/decisions/225).
 */
type Register = (program: Command, setExit: (code: number) => void) => void;

/**
 * The command groups in help order: the top-level commands each registers, and its module. `pipeline`, `worker`
 * and `demo` check which step commands the checkout has (the DAG is built from them), so they load every group.
 */
export const COMMAND_GROUPS: ReadonlyArray<{ commands: readonly string[]; load: () => Promise<Register>; needsAll?: true }> = [
  { commands: ['data'], load: async () => (await import('./data.js')).registerDataCommands },
  { commands: ['pipeline', 'worker', 'demo'], load: async () => (await import('./pipeline.js')).registerPipelineCommands, needsAll: true },
  { commands: ['train', 'eval', 'models'], load: async () => (await import('./train.js')).registerTrainCommands },
  { commands: ['config'], load: async () => (await import('./config.js')).registerConfigCommands },
  { commands: ['runs'], load: async () => (await import('./runs.js')).registerRunsCommands },
  { commands: ['embed'], load: async () => (await import('./embed.js')).registerEmbedCommands },
  { commands: ['analytics'], load: async () => (await import('./analytics.js')).registerAnalyticsCommands },
  { commands: ['index'], load: async () => (await import('./index-cmd.js')).registerIndexCommands },
  { commands: ['serve'], load: async () => (await import('./serve.js')).registerServeCommand },
  { commands: ['graph'], load: async () => (await import('./graph.js')).registerGraphCommands },
  { commands: ['cold-start'], load: async () => (await import('./cold-start.js')).registerColdStartCommands },
  { commands: ['ablate'], load: async () => (await import('./ablate.js')).registerAblateCommands },
  { commands: ['tune'], load: async () => (await import('./tune.js')).registerTuneCommands },
];

/** Global options that take a value (the word after them is not a command name). */
const VALUE_OPTIONS = new Set(['--config']);

/** The top-level command `argv` names (the first word that is not an option or an option's value), or null. */
export function commandNameOf(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return null;
}

/**
 * The program with every command group, or — given `only`, a top-level command name of a group that does not need
 * the others — with that group alone (an unknown name, help, or a `needsAll` group gets every group).
 */
export async function buildProgram(setExit: (code: number) => void, only?: string | null): Promise<Command> {
  const program = new Command('plotpointe')
    .description('PlotPointe: a multimodal graph-neural-network recommender, from raw review data to a live API.')
    .version(codeVersion().version)
    .option('--json', 'print one JSON object as the last stdout line')
    .option('--debug', 'print stack traces with errors')
    .option('--quiet', 'no progress output')
    .option('--config <file>', 'a JSON config file (see plotpointe config docs); flags override it')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  const one = only ? COMMAND_GROUPS.find((g) => g.commands.includes(only) && !g.needsAll) : undefined;
  const groups = one ? [one] : COMMAND_GROUPS;
  const registers = await Promise.all(groups.map((g) => g.load()));
  for (const register of registers) register(program, setExit);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let exit = 0;
  const help = argv.includes('--help') || argv.includes('-h');
  const program = await buildProgram((c) => (exit = c), help ? null : commandNameOf(argv));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      const globals: GlobalOptions = { json: argv.includes('--json'), debug: argv.includes('--debug') };
      process.stderr.write(`error PP_USAGE: ${err.message.replace(/^error: /, '')}\n`);
      if (globals.json) process.stdout.write(JSON.stringify({ error: { code: 'PP_USAGE', message: err.message } }) + '\n');
      return 2;
    }
    return reportError(err, { debug: argv.includes('--debug'), json: argv.includes('--json') });
  }
}
